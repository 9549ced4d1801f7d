//! The timer that locks carts at their deadline, and keeps carts in step
//! with their orders.
//!
//! Deadlines live in the store beside each cart (written with the change
//! that set them, cleared by the change that locks the cart), so the timer
//! keeps no state that a restart could lose: at start, before the node
//! listens, [`DeadlineTimer::catch_up`] locks every cart whose deadline
//! passed while it was down; while it runs, it sleeps until the earliest
//! deadline (at most [`POLL`], so that deadlines set meanwhile are seen)
//! and catches up again. The lock is a server-originated op with a stable
//! op id, so a deadline fires once even if the timer sees it twice.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cartroom_protocol::CartId;
use tokio_util::sync::CancellationToken;

use super::error::Result;
use super::orders::OrderService;
use crate::cart::ServerOp;
use crate::clock::Clock;
use crate::room::{RoomCmd, Rooms};
use crate::store::Deadlines;

/// The longest the timer sleeps: a deadline set meanwhile fires at most
/// this late.
pub const POLL: Duration = Duration::from_secs(1);

/// Locks carts at their deadline.
pub struct DeadlineTimer {
    deadlines: Arc<dyn Deadlines>,
    rooms: Arc<Rooms>,
    clock: Arc<dyn Clock>,
    orders: Arc<OrderService>,
    /// Deadlines this node has had applied; a deadline stays in the store
    /// until its lock is committed, and is not sent twice meanwhile.
    /// Locked only for a lookup or an insert; nothing awaits under it.
    fired: Mutex<HashSet<(CartId, i64)>>,
}

impl DeadlineTimer {
    pub fn new(
        deadlines: Arc<dyn Deadlines>,
        rooms: Arc<Rooms>,
        clock: Arc<dyn Clock>,
        orders: Arc<OrderService>,
    ) -> Self {
        Self {
            deadlines,
            rooms,
            clock,
            orders,
            fired: Mutex::new(HashSet::new()),
        }
    }

    fn fired(&self) -> std::sync::MutexGuard<'_, HashSet<(CartId, i64)>> {
        self.fired.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Locks every cart whose deadline has passed (each lock committed
    /// before this returns) and tells carts about orders they have not
    /// seen. Returns how many carts it locked.
    pub async fn catch_up(&self) -> Result<usize> {
        let due = self.deadlines.due_deadlines(self.clock.now_ms()).await?;
        let mut locked = 0;
        for (cart, deadline) in due {
            if self.fired().contains(&(cart, deadline)) {
                continue;
            }
            let (reply, rx) = tokio::sync::oneshot::channel();
            let op = ServerOp::LockAtDeadline { deadline };
            if self
                .rooms
                .send(cart, RoomCmd::ServerOp { op, reply })
                .await
                .is_err()
            {
                break;
            }
            match rx.await {
                Ok(Ok(_)) => {
                    self.fired().insert((cart, deadline));
                    locked += 1;
                }
                other => {
                    tracing::warn!(cart_id = %cart, ?other, "a deadline could not be applied; next tick");
                }
            }
        }
        self.orders.catch_up().await?;
        Ok(locked)
    }

    /// Catches up until `shutdown`, sleeping until the earliest deadline or
    /// [`POLL`], whichever comes first.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            if let Err(e) = self.catch_up().await {
                tracing::warn!(error = %e, "the deadline timer could not catch up");
            }
            let wait = match self.deadlines.next_deadline().await {
                // A deadline already due was just handled (or failed and
                // waits for the next tick).
                Ok(Some(at)) if at > self.clock.now_ms() => {
                    let ms = (at - self.clock.now_ms()).min(POLL.as_millis() as i64);
                    Duration::from_millis(ms as u64)
                }
                _ => POLL,
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use cartroom_protocol::checkout::CartPhase;
    use cartroom_protocol::checkout::OrderStatus;
    use cartroom_protocol::{CartId, ErrorCode, MemberRole, Op, OpId, UserId};
    use tokio::sync::oneshot;
    use tokio_util::sync::CancellationToken;
    use tokio_util::task::TaskTracker;

    use super::*;
    use crate::cart::{self, Actor, NodeId};
    use crate::catalog::CatalogHandle;
    use crate::catalog::demo::{DEMO_STORE, demo_catalog};
    use crate::checkout::PayAtPickup;
    use crate::clock::ManualClock;
    use crate::room::{OpOrigin, RoomEnv, RoomLimits};
    use crate::services::orders::OrderDeps;
    use crate::store::memory::MemoryStore;
    use crate::store::{Carts, CatalogStore, NewCart};

    const START: i64 = 1_800_000_000_000;

    struct World {
        store: Arc<MemoryStore>,
        rooms: Arc<Rooms>,
        clock: Arc<ManualClock>,
        timer: DeadlineTimer,
    }

    async fn world() -> World {
        let store = Arc::new(MemoryStore::new());
        store.seed(&demo_catalog()).await.unwrap();
        let clock = Arc::new(ManualClock::at(START));
        let catalog = CatalogHandle::new(demo_catalog());
        let rooms = Rooms::new(
            RoomEnv {
                changes: store.clone(),
                catalog: catalog.clone(),
                clock: clock.clone(),
                node: NodeId(1),
                limits: RoomLimits::new(Duration::from_secs(3600), 1000),
            },
            TaskTracker::new(),
            CancellationToken::new(),
        );
        let orders = Arc::new(OrderService::new(OrderDeps {
            orders: store.clone(),
            members: store.clone(),
            rooms: rooms.clone(),
            catalog,
            clock: clock.clone(),
            payments: Arc::new(PayAtPickup),
            staff: Vec::new(),
        }));
        let timer = DeadlineTimer::new(store.clone(), rooms.clone(), clock.clone(), orders);
        World {
            store,
            rooms,
            clock,
            timer,
        }
    }

    async fn cart_of(world: &World, admin: &Actor) -> CartId {
        let id = CartId::new_random();
        let doc = cart::new_cart_doc("Picnic", DEMO_STORE.2, admin, START, NodeId(1));
        world
            .store
            .create_cart(NewCart {
                id,
                store_id: DEMO_STORE.0,
                name: "Picnic",
                creator: admin.user_id,
                snapshot: &doc.save(),
                now_ms: START,
            })
            .await
            .unwrap();
        id
    }

    async fn op(world: &World, cart: CartId, admin: &Actor, op: Op) {
        let (reply, rx) = oneshot::channel();
        let cmd = RoomCmd::Op {
            origin: OpOrigin::Direct {
                actor: admin.clone(),
                role: MemberRole::Admin,
                reply,
            },
            op_id: OpId(format!("op-{}", uuid::Uuid::new_v4().simple())),
            op,
        };
        world.rooms.send(cart, cmd).await.unwrap();
        rx.await.unwrap().unwrap();
    }

    async fn try_op(world: &World, cart: CartId, admin: &Actor, op: Op) -> Result<(), ErrorCode> {
        let (reply, rx) = oneshot::channel();
        let cmd = RoomCmd::Op {
            origin: OpOrigin::Direct {
                actor: admin.clone(),
                role: MemberRole::Admin,
                reply,
            },
            op_id: OpId(format!("op-{}", uuid::Uuid::new_v4().simple())),
            op,
        };
        world.rooms.send(cart, cmd).await.unwrap();
        rx.await.unwrap().map(|_| ()).map_err(|r| r.code)
    }

    async fn phase(world: &World, cart: CartId) -> CartPhase {
        let (reply, rx) = oneshot::channel();
        world
            .rooms
            .send(cart, RoomCmd::View { reply })
            .await
            .unwrap();
        rx.await.unwrap().checkout.unwrap().phase
    }

    #[tokio::test]
    async fn a_deadline_locks_its_cart_once_when_its_time_comes() {
        let world = world().await;
        let ana = Actor {
            user_id: UserId::new_random(),
            name: "Ana".into(),
        };
        let cart = cart_of(&world, &ana).await;
        let later = cart_of(&world, &ana).await;
        op(
            &world,
            cart,
            &ana,
            Op::SetDeadline {
                at: Some(START + 60_000),
            },
        )
        .await;
        op(
            &world,
            later,
            &ana,
            Op::SetDeadline {
                at: Some(START + 120_000),
            },
        )
        .await;
        assert_eq!(world.timer.catch_up().await.unwrap(), 0);

        world.clock.advance_ms(60_000);
        assert_eq!(world.timer.catch_up().await.unwrap(), 1);
        assert_eq!(phase(&world, cart).await, CartPhase::Locked);
        assert_eq!(phase(&world, later).await, CartPhase::Open);
        // Cleared with the lock: the next catch-up has nothing to do.
        assert_eq!(
            world.store.next_deadline().await.unwrap(),
            Some(START + 120_000)
        );
        assert_eq!(world.timer.catch_up().await.unwrap(), 0);

        // A deadline moved later is kept, not the old one.
        op(
            &world,
            later,
            &ana,
            Op::SetDeadline {
                at: Some(START + 600_000),
            },
        )
        .await;
        world.clock.advance_ms(60_000);
        assert_eq!(world.timer.catch_up().await.unwrap(), 0);
        assert_eq!(phase(&world, later).await, CartPhase::Open);
        world.clock.advance_ms(600_000);
        assert_eq!(world.timer.catch_up().await.unwrap(), 1);
        assert_eq!(phase(&world, later).await, CartPhase::Locked);
    }

    #[tokio::test]
    async fn a_held_cart_takes_only_suggestions_and_votes_until_its_order_arrives() {
        let world = world().await;
        let ana = Actor {
            user_id: UserId::new_random(),
            name: "Ana".into(),
        };
        let cart = cart_of(&world, &ana).await;
        let add = || Op::AddLine {
            sku: "MUG-BLUE".into(),
            quantity: 1,
        };
        try_op(&world, cart, &ana, add()).await.unwrap();
        try_op(&world, cart, &ana, Op::Lock).await.unwrap();
        let (reply, rx) = oneshot::channel();
        world
            .rooms
            .send(cart, RoomCmd::Hold { reply })
            .await
            .unwrap();
        let view = rx.await.unwrap().unwrap();
        assert_eq!(view.lines.len(), 1);
        // A second hold, an unlock: refused while the order is placed.
        let (reply, rx) = oneshot::channel();
        world
            .rooms
            .send(cart, RoomCmd::Hold { reply })
            .await
            .unwrap();
        assert_eq!(rx.await.unwrap().unwrap_err().code, ErrorCode::CartLocked);
        assert_eq!(
            try_op(&world, cart, &ana, Op::Unlock).await,
            Err(ErrorCode::CartLocked)
        );
        let suggest = Op::Suggest {
            sku: "KETTLE".into(),
            quantity: 1,
            note: None,
        };
        try_op(&world, cart, &ana, suggest).await.unwrap();
        // The order's status ends the hold, and the cart is ordered.
        let (reply, rx) = oneshot::channel();
        let op = ServerOp::SyncOrder {
            order_id: "3f2a91c0-0000-4000-8000-000000000000".into(),
            status: OrderStatus::Pending,
            total: 1200,
            by_name: "Ana".into(),
        };
        world
            .rooms
            .send(cart, RoomCmd::ServerOp { op, reply })
            .await
            .unwrap();
        rx.await.unwrap().unwrap();
        assert_eq!(phase(&world, cart).await, CartPhase::Ordered);
        assert_eq!(
            try_op(&world, cart, &ana, Op::Unlock).await,
            Err(ErrorCode::CartLocked)
        );

        // A hold given up (`Release`) leaves the cart as it was.
        let other = cart_of(&world, &ana).await;
        try_op(&world, other, &ana, add()).await.unwrap();
        try_op(&world, other, &ana, Op::Lock).await.unwrap();
        let (reply, rx) = oneshot::channel();
        world
            .rooms
            .send(other, RoomCmd::Hold { reply })
            .await
            .unwrap();
        rx.await.unwrap().unwrap();
        world.rooms.send(other, RoomCmd::Release).await.unwrap();
        try_op(&world, other, &ana, Op::Unlock).await.unwrap();
        assert_eq!(phase(&world, other).await, CartPhase::Open);
    }
}
