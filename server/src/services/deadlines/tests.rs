//! The timer on the in-memory store with a manual clock: deadlines that
//! lock once, reminders given once, and the hold of a cart whose order is
//! being placed.

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
use crate::catalog::Catalogs;
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
    let catalog = Catalogs::new(vec![demo_catalog()]);
    let rooms = Rooms::new(
        RoomEnv {
            changes: store.clone(),
            catalogs: catalog.clone(),
            clock: clock.clone(),
            edits: std::sync::Arc::new(crate::room::edits::RecordedEdits::default()),
            node: NodeId(1),
            leases: None,
            cluster: None,
            limits: RoomLimits::new(Duration::from_secs(3600), 1000),
        },
        TaskTracker::new(),
        CancellationToken::new(),
    );
    let orders = Arc::new(OrderService::new(OrderDeps {
        orders: store.clone(),
        members: store.clone(),
        rooms: rooms.clone(),
        catalogs: catalog,
        clock: clock.clone(),
        payments: Arc::new(PayAtPickup),
        staff: store.clone(),
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
    let doc = cart::new_cart_doc("Picnic", DEMO_STORE.currency, admin, START, NodeId(1));
    world
        .store
        .create_cart(NewCart {
            id,
            store_id: DEMO_STORE.id,
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
        op: Box::new(op),
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
        op: Box::new(op),
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
        world.store.next_deadline(i64::MIN).await.unwrap(),
        Some(START + 120_000)
    );
    // Strictly later than the time asked about.
    assert_eq!(
        world.store.next_deadline(START + 120_000).await.unwrap(),
        None
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

async fn reminders(world: &World, cart: CartId) -> Vec<String> {
    crate::store::ChangeLog::recent_activity(world.store.as_ref(), cart, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "deadline_reminder")
        .map(|e| e.text)
        .collect()
}

#[tokio::test]
async fn members_are_reminded_once_within_the_hour_before_a_deadline() {
    let world = world().await;
    let ana = Actor {
        user_id: UserId::new_random(),
        name: "Ana".into(),
    };
    let cart = cart_of(&world, &ana).await;
    let lead = REMIND_BEFORE.as_millis() as i64;
    let at = START + lead + 60_000;
    op(&world, cart, &ana, Op::SetDeadline { at: Some(at) }).await;
    // More than the lead away: nothing yet.
    assert_eq!(world.timer.catch_up().await.unwrap(), 0);
    assert!(reminders(&world, cart).await.is_empty());

    world.clock.advance_ms(60_000);
    assert_eq!(world.timer.catch_up().await.unwrap(), 0);
    let texts = reminders(&world, cart).await;
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(
        texts[0].starts_with("Cartroom reminded everyone: the cart locks for checkout at"),
        "{}",
        texts[0]
    );
    assert_eq!(phase(&world, cart).await, CartPhase::Open);

    // Ticks until the deadline, and a timer that forgot (a restart),
    // remind no one again: the document knows it was given.
    world.clock.advance_ms(60_000);
    world.timer.catch_up().await.unwrap();
    let restarted = DeadlineTimer::new(
        world.store.clone(),
        world.rooms.clone(),
        world.clock.clone(),
        world.timer.orders.clone(),
    );
    restarted.catch_up().await.unwrap();
    assert_eq!(reminders(&world, cart).await.len(), 1);

    // A deadline moved later is reminded of again when its hour comes;
    // a locked cart is not reminded of anything.
    op(
        &world,
        cart,
        &ana,
        Op::SetDeadline {
            at: Some(at + lead),
        },
    )
    .await;
    world.timer.catch_up().await.unwrap();
    assert_eq!(reminders(&world, cart).await.len(), 1);
    world.clock.advance_ms(lead);
    world.timer.catch_up().await.unwrap();
    assert_eq!(reminders(&world, cart).await.len(), 2);
    let other = cart_of(&world, &ana).await;
    let soon = world.clock.now_ms() + 60_000;
    op(&world, other, &ana, Op::SetDeadline { at: Some(soon) }).await;
    op(&world, other, &ana, Op::Lock).await;
    world.timer.catch_up().await.unwrap();
    assert!(reminders(&world, other).await.is_empty());
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

#[tokio::test]
async fn the_timer_sleeps_until_the_next_reminder_or_lock() {
    let world = world().await;
    let ana = Actor {
        user_id: UserId::new_random(),
        name: "Ana".into(),
    };
    let hour = REMIND_BEFORE.as_millis() as i64;
    let sleep = async |longest| {
        let look = world.timer.look().await.unwrap();
        assert!(look.settled);
        world.timer.until_next(look.at, longest).await.unwrap()
    };
    // Nothing set: the longest sleep.
    assert_eq!(sleep(POLL_WOKEN).await, POLL_WOKEN);

    // A deadline an hour and ten seconds away: its reminder in 10 s.
    let cart = cart_of(&world, &ana).await;
    let at = START + hour + 10_000;
    op(&world, cart, &ana, Op::SetDeadline { at: Some(at) }).await;
    assert_eq!(sleep(POLL_WOKEN).await, Duration::from_secs(10));
    // Where the timer looks every POLL, that is the most it sleeps.
    assert_eq!(sleep(POLL).await, POLL);

    // Reminded: then the lock, an hour away, is further than the bound.
    world.clock.advance_ms(10_000);
    assert_eq!(sleep(POLL_WOKEN).await, POLL_WOKEN);
    assert_eq!(reminders(&world, cart).await.len(), 1);
    world.clock.advance_ms(hour - 20_000);
    assert_eq!(sleep(POLL_WOKEN).await, Duration::from_secs(20));
    world.clock.advance_ms(20_000);
    assert_eq!(sleep(POLL_WOKEN).await, POLL_WOKEN);
    assert_eq!(phase(&world, cart).await, CartPhase::Locked);
}
