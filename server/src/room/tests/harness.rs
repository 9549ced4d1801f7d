//! The harness: a [`Rooms`] registry over the memory store, a manual clock
//! and the demo catalog, with recording subscribers where sockets would be.
//! Tests decide when writes become durable through the store's commit gate,
//! and wait on frames and answers, never on time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use automerge::Automerge;
use bytes::Bytes;
use cartroom_protocol::http::{CartView, OpAck};
use cartroom_protocol::{CartId, ConnId, MemberRole, Op, OpId, StreamKind, UserId};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cart::{self, Actor, NodeId};
use crate::catalog::Catalogs;
use crate::catalog::demo::{DEMO_STORE, demo_catalog};
use crate::clock::ManualClock;
use crate::refusal::Refusal;
use crate::room::{BytesKind, OpOrigin, RoomCmd, RoomEnv, RoomLimits, Rooms};
use crate::store::memory::MemoryStore;
use crate::store::{Carts, CatalogStore, ChangeLog, LoadLimits, NewCart};

pub(super) use super::client::{Client, Joined, OpAnswer, Received, SeenChange};

/// How long a test waits for a frame or an answer before it fails rather
/// than hang; a guard for broken code, never a way to let the room catch up.
pub(super) const PATIENCE: Duration = Duration::from_secs(10);

/// Where the manual clock starts.
const START_MS: i64 = 1_700_000_000_000;

const NODE: NodeId = NodeId(7);

/// Small bounds, so that tests can reach them. Rooms unload only in tests
/// that shorten `idle`.
pub(super) fn small_limits() -> RoomLimits {
    RoomLimits {
        idle: Duration::from_secs(3600),
        epoch_every: 1000,
        op_memory: 16,
        activity_memory: 8,
        queue: 8,
    }
}

pub(super) fn actor(name: &str) -> Actor {
    Actor {
        user_id: UserId::new_random(),
        name: name.into(),
    }
}

pub(super) fn add(sku: &str, quantity: i64) -> Op {
    Op::AddLine {
        sku: sku.into(),
        quantity,
    }
}

/// The quantity of the line of `sku`, if the cart has one.
pub(super) fn quantity(view: &CartView, sku: &str) -> Option<i64> {
    view.lines
        .iter()
        .find(|line| line.sku == sku)
        .map(|line| line.quantity)
}

pub(super) fn view_of(doc: &Automerge) -> CartView {
    cart::view(doc).expect("the room's document has the cart schema")
}

/// Waits for a oneshot answer; `None` when the room dropped the sender.
pub(super) async fn answer<T>(rx: oneshot::Receiver<T>) -> Option<T> {
    tokio::time::timeout(PATIENCE, rx)
        .await
        .expect("the room neither answered nor dropped the request")
        .ok()
}

/// Rooms over a memory store, and what tests need to drive them.
pub(super) struct Harness {
    pub(super) store: Arc<MemoryStore>,
    pub(super) rooms: Arc<Rooms>,
    pub(super) clock: Arc<ManualClock>,
    /// What the rooms told their edit tap.
    pub(super) edits: Arc<crate::room::edits::RecordedEdits>,
    catalog: Catalogs,
    limits: RoomLimits,
    /// Every room task, so that a test can wait until all have stopped.
    tracker: TaskTracker,
    shutdown: CancellationToken,
    next_conn: AtomicU64,
}

impl Harness {
    pub(super) async fn new() -> Self {
        Self::with_limits(small_limits()).await
    }

    pub(super) async fn with_limits(limits: RoomLimits) -> Self {
        let store = Arc::new(MemoryStore::new());
        store
            .seed(&demo_catalog())
            .await
            .expect("the memory store takes the catalog");
        let clock = Arc::new(ManualClock::at(START_MS));
        let catalog = Catalogs::new(vec![demo_catalog()]);
        let (tracker, shutdown) = (TaskTracker::new(), CancellationToken::new());
        let edits = Arc::new(crate::room::edits::RecordedEdits::default());
        let rooms = start_rooms(
            &store, &clock, &catalog, &edits, limits, &tracker, &shutdown,
        );
        Self {
            store,
            rooms,
            clock,
            edits,
            catalog,
            limits,
            tracker,
            shutdown,
            next_conn: AtomicU64::new(1),
        }
    }

    /// Stops every room as a node shutdown does (pending commits complete
    /// first, so release them before), then starts an empty registry over
    /// the same store: the next command loads its cart from durable state.
    pub(super) async fn restart(&mut self) {
        self.shutdown.cancel();
        self.rooms_stopped().await;
        self.tracker = TaskTracker::new();
        self.shutdown = CancellationToken::new();
        self.rooms = start_rooms(
            &self.store,
            &self.clock,
            &self.catalog,
            &self.edits,
            self.limits,
            &self.tracker,
            &self.shutdown,
        );
    }

    /// Waits until every room task has ended.
    pub(super) async fn rooms_stopped(&self) {
        self.tracker.close();
        tokio::time::timeout(PATIENCE, self.tracker.wait())
            .await
            .expect("every room stops");
        self.tracker.reopen();
    }

    /// A new cart in the store, with `admin` as its admin; no room yet.
    pub(super) async fn create_cart(&self, admin: &Actor) -> CartId {
        let id = CartId::new_random();
        let doc = cart::new_cart_doc("Picnic", DEMO_STORE.currency, admin, START_MS, NODE);
        self.store
            .create_cart(NewCart {
                id,
                store_id: DEMO_STORE.id,
                name: "Picnic",
                creator: admin.user_id,
                snapshot: &doc.save(),
                now_ms: START_MS,
            })
            .await
            .expect("the memory store creates carts");
        id
    }

    /// A connection of a new user.
    pub(super) fn client(&self, name: &str) -> Client {
        self.connect(&actor(name))
    }

    /// Another connection of `actor`.
    pub(super) fn connect(&self, actor: &Actor) -> Client {
        let conn_id = ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed));
        Client::new(conn_id, actor.clone())
    }

    pub(super) async fn send(&self, cart: CartId, cmd: RoomCmd) {
        self.rooms
            .send(cart, cmd)
            .await
            .expect("the rooms are running");
    }

    pub(super) async fn subscribe(&self, cart: CartId, client: &Client, role: MemberRole) {
        self.subscribe_to(cart, client, role, StreamKind::Changes)
            .await;
    }

    /// Subscribes on a given stream.
    pub(super) async fn subscribe_to(
        &self,
        cart: CartId,
        client: &Client,
        role: MemberRole,
        stream: StreamKind,
    ) {
        let conn = client.handle();
        let cmd = RoomCmd::Subscribe {
            conn,
            role,
            staff: false,
            heads: None,
            stream,
        };
        self.send(cart, cmd).await;
    }

    /// Subscribes and reads the welcome: `subscribed`, the document and the
    /// client's own presence.
    pub(super) async fn join(&self, cart: CartId, client: &mut Client, role: MemberRole) -> Joined {
        self.subscribe(cart, client, role).await;
        let joined = client.expect_subscribed().await;
        let me = client.actor().clone();
        client.expect_presence_of(&me).await;
        joined
    }

    pub(super) async fn unsubscribe(&self, cart: CartId, client: &Client) {
        let conn_id = client.conn_id();
        let cmd = RoomCmd::Unsubscribe {
            conn_id,
            notify: true,
        };
        self.send(cart, cmd).await;
    }

    /// An op from a subscriber; its answer comes as a frame.
    pub(super) async fn op(&self, cart: CartId, client: &Client, op_id: &str, op: Op) {
        let cmd = RoomCmd::Op {
            origin: OpOrigin::Subscriber(client.handle()),
            op_id: OpId(op_id.into()),
            op: Box::new(op),
        };
        self.send(cart, cmd).await;
    }

    /// An op from outside the room (HTTP), as an editor.
    pub(super) async fn direct_op(
        &self,
        cart: CartId,
        actor: &Actor,
        op_id: &str,
        op: Op,
    ) -> oneshot::Receiver<Result<OpAck, Refusal>> {
        self.direct_op_as(cart, actor, MemberRole::Editor, op_id, op)
            .await
    }

    /// An op from outside the room (HTTP), with the given role.
    pub(super) async fn direct_op_as(
        &self,
        cart: CartId,
        actor: &Actor,
        role: MemberRole,
        op_id: &str,
        op: Op,
    ) -> oneshot::Receiver<Result<OpAck, Refusal>> {
        let (reply, rx) = oneshot::channel();
        let origin = OpOrigin::Direct {
            actor: actor.clone(),
            role,
            reply,
        };
        let op_id = OpId(op_id.into());
        self.send(
            cart,
            RoomCmd::Op {
                origin,
                op_id,
                op: Box::new(op),
            },
        )
        .await;
        rx
    }

    pub(super) async fn view(&self, cart: CartId) -> oneshot::Receiver<CartView> {
        let (reply, rx) = oneshot::channel();
        self.send(cart, RoomCmd::View { reply }).await;
        rx
    }

    pub(super) async fn bytes(&self, cart: CartId, kind: BytesKind) -> oneshot::Receiver<Bytes> {
        let (reply, rx) = oneshot::channel();
        self.send(cart, RoomCmd::Bytes { kind, reply }).await;
        rx
    }

    /// Returns once the room has handled every command sent before. A room
    /// handles commands in order and refuses a chat from a stranger at once,
    /// so a stranger's refusal marks the point.
    pub(super) async fn settle(&self, cart: CartId) {
        let mut probe = self.client("Probe");
        let conn = probe.handle();
        let text = "are you there?".into();
        self.send(cart, RoomCmd::Chat { conn, text }).await;
        probe.expect_error().await;
    }

    /// Returns once the room has also completed the work those commands
    /// queued: a read is answered only after everything queued before it.
    /// Commits must not be held.
    pub(super) async fn flush(&self, cart: CartId) {
        answer(self.view(cart).await)
            .await
            .expect("the room answers reads");
    }

    /// The cart as a room would load it from the store now.
    pub(super) async fn durable_doc(&self, cart: CartId) -> Automerge {
        let limits = LoadLimits {
            op_memory: self.limits.op_memory,
            activity_memory: 0,
        };
        let state = self
            .store
            .load_cart(cart, limits)
            .await
            .expect("the memory store loads")
            .expect("the cart exists");
        let mut doc = Automerge::load(&state.snapshot).expect("a valid snapshot");
        for change in &state.changes {
            doc.load_incremental(change).expect("a valid change");
        }
        doc
    }

    /// The op ids of the cart's durable changes, in commit order.
    pub(super) async fn durable_op_ids(&self, cart: CartId) -> Vec<String> {
        let limits = LoadLimits {
            op_memory: 0,
            activity_memory: 0,
        };
        let state = self.store.load_cart(cart, limits).await.unwrap().unwrap();
        state
            .changes
            .iter()
            .map(|bytes| SeenChange::parse(bytes).op_id)
            .collect()
    }

    /// A cart with Ana (admin) and Bob (editor) subscribed, every frame
    /// they were sent so far read.
    pub(super) async fn party(&self) -> Party {
        let mut ana = self.client("Ana");
        let cart = self.create_cart(ana.actor()).await;
        self.join(cart, &mut ana, MemberRole::Admin).await;
        let mut bob = self.client("Bob");
        self.join(cart, &mut bob, MemberRole::Editor).await;
        let bob_actor = bob.actor().clone();
        ana.expect_presence(&bob_actor, 1).await;
        Party { cart, ana, bob }
    }
}

fn start_rooms(
    store: &Arc<MemoryStore>,
    clock: &Arc<ManualClock>,
    catalog: &Catalogs,
    edits: &Arc<crate::room::edits::RecordedEdits>,
    limits: RoomLimits,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
) -> Arc<Rooms> {
    let env = RoomEnv {
        changes: store.clone(),
        catalogs: catalog.clone(),
        clock: clock.clone(),
        edits: edits.clone(),
        node: NODE,
        leases: None,
        cluster: None,
        limits,
    };
    Rooms::new(env, tracker.clone(), shutdown.clone())
}

/// A cart with two subscribers.
pub(super) struct Party {
    pub(super) cart: CartId,
    pub(super) ana: Client,
    pub(super) bob: Client,
}
