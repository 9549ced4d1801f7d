//! Rooms: one task per loaded cart owns its Automerge document.
//!
//! Everything that touches a cart goes through its room's bounded command
//! channel. The room validates and applies an op at once (so the next op
//! sees it), hands the change to the group-commit writer, and keeps a queue
//! of work that must wait for earlier commits: acks, broadcasts, new
//! subscribers' documents and REST reads. That queue is completed strictly in
//! order, so nothing is shown to anyone before it is durable, and every
//! subscriber sees changes in commit order.
//!
//! The registry ([`Rooms`]) finds or starts a room through `DashMap::entry`;
//! a room unloads itself after `room_idle` with nobody subscribed.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use automerge::{Automerge, ChangeHash, ReadDoc};
use axum::extract::ws::Message;
use bytes::Bytes;
use cartroom_protocol::{
    ActivityEvent, BinaryFrame, CartId, ErrorCode, FrameKind, MemberRole, Op, OpId, PresenceEntry,
    ServerMsg, SyncPayload, UserId,
};
use dashmap::DashMap;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesOrdered;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::cart::{self, Actor, CartMirror, CartView, OpContext, OpError};
use crate::state::Shared;
use crate::store;
use crate::writer::{ChangeRecord, WriteCmd};

/// Commands queued in front of one room.
const ROOM_QUEUE: usize = 1024;
/// Op ids remembered per cart for idempotent retries.
pub const OP_MEMORY: usize = 1000;
/// Activity events kept in memory and sent with `subscribed`.
pub const ACTIVITY_MEMORY: usize = 50;

/// One live connection, as rooms see it.
#[derive(Debug)]
pub struct Conn {
    pub id: u64,
    pub actor: Actor,
    /// The connection's bounded outbound queue.
    pub outbound: mpsc::Sender<Message>,
    /// Cancelled by a room when the outbound queue is full: the connection
    /// then closes with 4008 (slow consumer).
    pub too_slow: CancellationToken,
}

pub type ConnHandle = Arc<Conn>;

impl Conn {
    /// Queues a frame; false when the connection is gone or too slow.
    pub fn deliver(&self, msg: Message) -> bool {
        match self.outbound.try_send(msg) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::debug!(
                    conn_id = self.id,
                    "outbound queue full: closing as a slow consumer"
                );
                metrics::counter!("cartroom_slow_consumers_total").increment(1);
                self.too_slow.cancel();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    pub fn send_msg(&self, msg: &ServerMsg) -> bool {
        self.deliver(text_message(msg))
    }
}

/// Serializes a server message into a text frame.
pub fn text_message(msg: &ServerMsg) -> Message {
    Message::Text(
        serde_json::to_string(msg)
            .expect("server messages serialize")
            .into(),
    )
}

/// The error frame for a refused request.
pub fn error_msg(
    code: ErrorCode,
    message: impl Into<String>,
    cart_id: Option<CartId>,
    op_id: Option<OpId>,
) -> ServerMsg {
    ServerMsg::Error {
        code,
        message: message.into(),
        cart_id,
        op_id,
    }
}

/// Where the answer to an op goes.
#[derive(Debug)]
pub enum OpOrigin {
    /// A WebSocket connection; its role is the room's record of it.
    Conn(ConnHandle),
    /// A REST call, with the role the caller's membership gives.
    Http {
        actor: Actor,
        role: MemberRole,
        reply: oneshot::Sender<Result<OpAck, OpError>>,
    },
}

/// The answer to an accepted op.
#[derive(Clone, Debug, serde::Serialize)]
pub struct OpAck {
    pub op_id: OpId,
    pub heads: Vec<String>,
    pub duplicate: bool,
}

/// Which Automerge bytes a REST read wants.
#[derive(Clone, Copy, Debug)]
pub enum BytesKind {
    /// `doc.save()`.
    Document,
    /// Every change, concatenated.
    Changes,
}

/// What a room can be asked to do.
#[derive(Debug)]
pub enum RoomCmd {
    Subscribe {
        conn: ConnHandle,
        role: MemberRole,
        heads: Option<Vec<ChangeHash>>,
    },
    Unsubscribe {
        conn_id: u64,
        /// Send `unsubscribed` (reason `requested`) to the connection.
        notify: bool,
    },
    Op {
        origin: OpOrigin,
        op_id: OpId,
        op: Op,
    },
    Presence {
        conn_id: u64,
        status: Option<String>,
    },
    Chat {
        conn: ConnHandle,
        text: String,
    },
    /// A membership changed in the database; `None` means removed.
    MemberChanged {
        user_id: UserId,
        member_name: String,
        role: Option<MemberRole>,
        /// True when the user was not a member before.
        added: bool,
        /// The admin who made the change (or the member who left).
        by: Actor,
    },
    /// The JSON view, once everything made so far is durable.
    View {
        reply: oneshot::Sender<CartView>,
    },
    /// Automerge bytes, once everything made so far is durable.
    Bytes {
        kind: BytesKind,
        reply: oneshot::Sender<Bytes>,
    },
    /// The cart is being deleted: tell everyone, finish commits, stop.
    Delete {
        reply: oneshot::Sender<()>,
    },
}

#[derive(Clone, Debug)]
struct RoomHandle {
    id: u64,
    tx: mpsc::Sender<RoomCmd>,
}

/// The room could not take the command (shutting down).
#[derive(Debug, thiserror::Error)]
#[error("the server is shutting down")]
pub struct RoomsClosed;

/// The registry of loaded rooms.
pub struct Rooms {
    map: DashMap<CartId, RoomHandle>,
    next_id: AtomicU64,
    tracker: TaskTracker,
    shutdown: CancellationToken,
}

impl Rooms {
    pub fn new(tracker: TaskTracker, shutdown: CancellationToken) -> Self {
        Self {
            map: DashMap::new(),
            next_id: AtomicU64::new(1),
            tracker,
            shutdown,
        }
    }

    /// Number of loaded rooms.
    pub fn loaded(&self) -> usize {
        self.map.len()
    }

    /// Sends a command to the cart's room, loading the room if needed.
    pub async fn send(
        &self,
        shared: &Arc<Shared>,
        cart: CartId,
        mut cmd: RoomCmd,
    ) -> Result<(), RoomsClosed> {
        loop {
            if self.shutdown.is_cancelled() {
                return Err(RoomsClosed);
            }
            // The entry guard is dropped at the end of this statement, before any await.
            let handle = self
                .map
                .entry(cart)
                .or_insert_with(|| self.spawn(shared, cart))
                .clone();
            match handle.tx.send(cmd).await {
                Ok(()) => return Ok(()),
                Err(mpsc::error::SendError(returned)) => {
                    // That room just stopped; forget it and start a fresh one.
                    self.map.remove_if(&cart, |_, h| h.id == handle.id);
                    cmd = returned;
                }
            }
        }
    }

    /// Sends a command only if the room is loaded (nothing to tell otherwise).
    pub async fn send_if_loaded(&self, cart: CartId, cmd: RoomCmd) {
        let handle = self.map.get(&cart).map(|h| h.clone());
        if let Some(handle) = handle {
            let _ = handle.tx.send(cmd).await;
        }
    }

    fn spawn(&self, shared: &Arc<Shared>, cart: CartId) -> RoomHandle {
        let (tx, rx) = mpsc::channel(ROOM_QUEUE);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let span = tracing::info_span!("room", cart_id = %cart);
        self.tracker
            .spawn(run_room(shared.clone(), cart, id, rx).instrument(span));
        RoomHandle { id, tx }
    }

    fn forget(&self, cart: CartId, id: u64) {
        self.map.remove_if(&cart, |_, h| h.id == id);
    }
}

struct Subscriber {
    conn: ConnHandle,
    role: MemberRole,
    status: Option<String>,
}

/// Work that may only complete after the commits queued before it.
enum Completed {
    Commit {
        result: Result<(), String>,
        seq: i64,
        frame: Message,
        heads: Vec<String>,
        op_id: OpId,
        target: AckTarget,
        activity: ActivityEvent,
    },
    /// An ack with no change of its own: a retry, or an op that changed nothing.
    Ack {
        op_id: OpId,
        heads: Vec<String>,
        target: AckTarget,
        duplicate: bool,
    },
    Subscribe {
        conn: ConnHandle,
        role: MemberRole,
        payload: SyncPayload,
        frame: Message,
        heads: Vec<String>,
    },
    /// A REST read's answer, sent in turn.
    Reply(Box<dyn FnOnce() + Send>),
    /// An activity event that is not a change (chat, membership), saved.
    Note {
        result: Result<(), String>,
        author: Option<ConnHandle>,
        event: ActivityEvent,
        msg: Message,
    },
}

enum AckTarget {
    Conn(ConnHandle),
    Http(oneshot::Sender<Result<OpAck, OpError>>),
}

struct Room {
    shared: Arc<Shared>,
    cart_id: CartId,
    doc: Automerge,
    /// What ops are validated against; see `cart::CartMirror`.
    mirror: CartMirror,
    subscribers: HashMap<u64, Subscriber>,
    /// Sequence number of the last change made (maybe not yet committed).
    seq: i64,
    snapshot_seq: i64,
    activity_seq: i64,
    applied: HashSet<(UserId, String)>,
    applied_order: VecDeque<(UserId, String)>,
    activity: VecDeque<ActivityEvent>,
    /// `doc.save()` until the next change, for subscribers without heads.
    saved: Option<Bytes>,
    pending: FuturesOrdered<BoxFuture<'static, Completed>>,
}

async fn run_room(
    shared: Arc<Shared>,
    cart_id: CartId,
    room_id: u64,
    mut rx: mpsc::Receiver<RoomCmd>,
) {
    let loaded = load_room(&shared, cart_id).await;
    let mut room = match loaded {
        Ok(Some(room)) => room,
        other => {
            let code = match other {
                Ok(_) => ErrorCode::CartNotFound,
                Err(e) => {
                    tracing::error!(error = %e, "loading the cart failed");
                    ErrorCode::Unavailable
                }
            };
            shared.rooms.forget(cart_id, room_id);
            rx.close();
            while let Some(cmd) = rx.recv().await {
                refuse(cart_id, cmd, code);
            }
            return;
        }
    };
    metrics::gauge!("cartroom_rooms_loaded").increment(1.0);
    let idle = shared.config.room_idle();
    let mut idle_since = Instant::now();
    loop {
        let idle_deadline = tokio::time::Instant::from_std(idle_since + idle);
        let unloadable = room.subscribers.is_empty() && room.pending.is_empty();
        tokio::select! {
            cmd = rx.recv(), if !shared.shutdown.is_cancelled() => {
                let Some(cmd) = cmd else { break };
                if let RoomCmd::Delete { reply } = cmd {
                    room.delete().await;
                    let _ = reply.send(());
                    break;
                }
                room.handle(cmd).await;
                idle_since = Instant::now();
            }
            Some(done) = room.pending.next() => {
                if !room.complete(done) {
                    break;
                }
            }
            _ = tokio::time::sleep_until(idle_deadline), if unloadable => break,
            _ = shared.shutdown.cancelled(), if room.pending.is_empty() => break,
        }
    }
    // Stop taking commands; what raced in goes to a fresh room once this one is forgotten.
    shared.rooms.forget(cart_id, room_id);
    rx.close();
    while let Some(done) = room.pending.next().await {
        room.complete(done);
    }
    let leftovers: Vec<RoomCmd> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    metrics::gauge!("cartroom_rooms_loaded").decrement(1.0);
    tracing::debug!(leftovers = leftovers.len(), "room unloaded");
    for cmd in leftovers {
        if matches!(cmd, RoomCmd::Delete { .. }) {
            continue;
        }
        if shared.rooms.send(&shared, cart_id, cmd).await.is_err() {
            break;
        }
    }
}

/// Answers a command that no room will handle.
fn refuse(cart_id: CartId, cmd: RoomCmd, code: ErrorCode) {
    let message = match code {
        ErrorCode::CartNotFound => "this cart does not exist",
        _ => "this cart is unavailable right now; try again",
    };
    match cmd {
        RoomCmd::Subscribe { conn, .. } => {
            conn.send_msg(&error_msg(code, message, Some(cart_id), None));
        }
        RoomCmd::Op { origin, op_id, .. } => match origin {
            OpOrigin::Conn(conn) => {
                conn.send_msg(&error_msg(code, message, Some(cart_id), Some(op_id)));
            }
            OpOrigin::Http { reply, .. } => {
                let _ = reply.send(Err(OpError::new(code, message)));
            }
        },
        RoomCmd::Delete { reply } => {
            let _ = reply.send(());
        }
        // Dropping a Read reply tells the caller the cart is unavailable.
        _ => {}
    }
}

async fn load_room(shared: &Arc<Shared>, cart_id: CartId) -> Result<Option<Room>, String> {
    let Some(state) = store::load_cart_state(
        &shared.pool,
        cart_id,
        OP_MEMORY as i64,
        ACTIVITY_MEMORY as i64,
    )
    .await
    .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let started = Instant::now();
    let mut doc = Automerge::load(&state.snapshot).map_err(|e| format!("snapshot: {e}"))?;
    for change in &state.changes {
        doc.load_incremental(change)
            .map_err(|e| format!("change log: {e}"))?;
    }
    tracing::debug!(
        changes = state.changes.len(),
        ms = started.elapsed().as_millis() as u64,
        "room loaded"
    );
    let mirror = CartMirror::load(&doc).map_err(|e| e.to_string())?;
    let applied_order: VecDeque<_> = state.applied_ops.into_iter().collect();
    Ok(Some(Room {
        shared: shared.clone(),
        cart_id,
        doc,
        mirror,
        subscribers: HashMap::new(),
        seq: state.last_seq,
        snapshot_seq: state.snapshot_seq,
        activity_seq: state.activity.last().map_or(0, |e| e.seq),
        applied: applied_order.iter().cloned().collect(),
        applied_order,
        activity: state.activity.into_iter().collect(),
        saved: None,
        pending: FuturesOrdered::new(),
    }))
}

/// "a viewer", "an editor", "an admin".
fn with_article(role: MemberRole) -> String {
    match role {
        MemberRole::Viewer => "a viewer".into(),
        MemberRole::Editor => "an editor".into(),
        MemberRole::Admin => "an admin".into(),
    }
}

fn heads_hex(doc: &Automerge) -> Vec<String> {
    doc.get_heads().iter().map(ToString::to_string).collect()
}

impl Room {
    async fn handle(&mut self, cmd: RoomCmd) {
        match cmd {
            RoomCmd::Subscribe { conn, role, heads } => self.subscribe(conn, role, heads),
            RoomCmd::Unsubscribe { conn_id, notify } => {
                if let Some(sub) = self.subscribers.remove(&conn_id) {
                    if notify {
                        sub.conn.send_msg(&ServerMsg::Unsubscribed {
                            cart_id: self.cart_id,
                            reason: "requested".into(),
                        });
                    }
                    self.announce_presence(&sub.conn.actor, sub.role);
                }
            }
            RoomCmd::Op { origin, op_id, op } => self.op(origin, op_id, op).await,
            RoomCmd::Presence { conn_id, status } => {
                if let Some(sub) = self.subscribers.get_mut(&conn_id) {
                    sub.status = status;
                    let (actor, role) = (sub.conn.actor.clone(), sub.role);
                    self.announce_presence(&actor, role);
                }
            }
            RoomCmd::Chat { conn, text } => self.chat(conn, text).await,
            RoomCmd::MemberChanged {
                user_id,
                member_name,
                role,
                added,
                by,
            } => {
                self.member_changed(user_id, role);
                let text = match role {
                    None if by.user_id == user_id => format!("{member_name} left the cart"),
                    None => format!("{} removed {member_name}", by.name),
                    Some(role) if added => {
                        format!("{} added {member_name} as {}", by.name, with_article(role))
                    }
                    Some(role) => format!("{} made {member_name} {}", by.name, with_article(role)),
                };
                let kind = match (role, added) {
                    (None, _) => "member_removed",
                    (Some(_), true) => "member_added",
                    (Some(_), false) => "role_changed",
                };
                self.record_activity(&by, kind, text, None).await;
            }
            RoomCmd::View { reply } => match cart::view(&self.doc) {
                Ok(view) => self.reply_in_turn(move || {
                    let _ = reply.send(view);
                }),
                // Dropping `reply` tells the caller the cart is unavailable.
                Err(e) => tracing::error!(error = %e, "cart view failed"),
            },
            RoomCmd::Bytes { kind, reply } => {
                let bytes = match kind {
                    BytesKind::Document => self.saved_doc(),
                    BytesKind::Changes => Bytes::from(self.doc.save_after(&[])),
                };
                self.reply_in_turn(move || {
                    let _ = reply.send(bytes);
                });
            }
            RoomCmd::Delete { .. } => unreachable!("handled by the room loop"),
        }
    }

    /// Sends a read's answer after the commits queued before it, so that a
    /// REST read never shows what is not durable yet.
    fn reply_in_turn(&mut self, send: impl FnOnce() + Send + 'static) {
        let send: Box<dyn FnOnce() + Send> = Box::new(send);
        self.pending
            .push_back(Box::pin(async move { Completed::Reply(send) }));
    }

    fn saved_doc(&mut self) -> Bytes {
        self.saved
            .get_or_insert_with(|| Bytes::from(self.doc.save()))
            .clone()
    }

    fn subscribe(&mut self, conn: ConnHandle, role: MemberRole, heads: Option<Vec<ChangeHash>>) {
        let known = heads.filter(|heads| {
            heads
                .iter()
                .all(|h| self.doc.get_change_by_hash(h).is_some())
        });
        let (payload, bytes) = match known {
            Some(heads) => (
                SyncPayload::Changes,
                Bytes::from(self.doc.save_after(&heads)),
            ),
            None => (SyncPayload::Document, self.saved_doc()),
        };
        let kind = match payload {
            SyncPayload::Document => FrameKind::Document,
            SyncPayload::Changes => FrameKind::Changes,
        };
        let frame = Message::Binary(BinaryFrame::encode(kind, self.cart_id, &bytes).into());
        let heads = heads_hex(&self.doc);
        self.pending.push_back(Box::pin(async move {
            Completed::Subscribe {
                conn,
                role,
                payload,
                frame,
                heads,
            }
        }));
    }

    /// Everyone here, one entry per user, sorted by name.
    fn presence(&self) -> Vec<PresenceEntry> {
        let mut by_user: HashMap<UserId, PresenceEntry> = HashMap::new();
        for sub in self.subscribers.values() {
            let entry = by_user
                .entry(sub.conn.actor.user_id)
                .or_insert_with(|| PresenceEntry {
                    user_id: sub.conn.actor.user_id,
                    name: sub.conn.actor.name.clone(),
                    role: sub.role,
                    connections: 0,
                    status: None,
                });
            entry.connections += 1;
            if sub.status.is_some() {
                entry.status = sub.status.clone();
            }
        }
        let mut list: Vec<_> = by_user.into_values().collect();
        list.sort_by(|a, b| a.name.cmp(&b.name).then(a.user_id.cmp(&b.user_id)));
        list
    }

    /// One user's presence as it is now; `connections: 0` once gone.
    fn presence_of(&self, user: &Actor, role: MemberRole) -> PresenceEntry {
        let mut entry = PresenceEntry {
            user_id: user.user_id,
            name: user.name.clone(),
            role,
            connections: 0,
            status: None,
        };
        for sub in self
            .subscribers
            .values()
            .filter(|s| s.conn.actor.user_id == user.user_id)
        {
            entry.connections += 1;
            entry.role = sub.role;
            if sub.status.is_some() {
                entry.status = sub.status.clone();
            }
        }
        entry
    }

    /// Broadcasts the presence of one user: a delta, so that a join costs
    /// one small frame per member rather than the whole list.
    fn announce_presence(&mut self, user: &Actor, role: MemberRole) {
        let mut queue = vec![(user.clone(), role)];
        while let Some((user, role)) = queue.pop() {
            let msg = text_message(&ServerMsg::Presence {
                cart_id: self.cart_id,
                members: vec![self.presence_of(&user, role)],
            });
            queue.extend(self.deliver_all(msg));
        }
    }

    /// Sends to every subscriber; returns those dropped (gone or too slow).
    fn deliver_all(&mut self, msg: Message) -> Vec<(Actor, MemberRole)> {
        let mut dropped = Vec::new();
        metrics::counter!("cartroom_deliveries_total").increment(self.subscribers.len() as u64);
        self.subscribers.retain(|_, sub| {
            let delivered = sub.conn.deliver(msg.clone());
            if !delivered {
                dropped.push((sub.conn.actor.clone(), sub.role));
            }
            delivered
        });
        dropped
    }

    /// Sends to every subscriber and tells the room who was dropped.
    fn broadcast(&mut self, msg: Message) {
        for (user, role) in self.deliver_all(msg) {
            self.announce_presence(&user, role);
        }
    }

    async fn op(&mut self, origin: OpOrigin, op_id: OpId, op: Op) {
        let (actor, role, target) = match origin {
            OpOrigin::Conn(conn) => match self.subscribers.get(&conn.id) {
                Some(sub) => (conn.actor.clone(), sub.role, AckTarget::Conn(conn)),
                None => {
                    conn.send_msg(&error_msg(
                        ErrorCode::NotSubscribed,
                        "subscribe to this cart first",
                        Some(self.cart_id),
                        Some(op_id),
                    ));
                    return;
                }
            },
            OpOrigin::Http { actor, role, reply } => (actor, role, AckTarget::Http(reply)),
        };
        if !op_id.is_valid() {
            return self.refuse_op(
                target,
                op_id,
                OpError::new(
                    ErrorCode::InvalidField,
                    "op_id is 1 to 64 printable ASCII characters",
                ),
            );
        }
        let key = (actor.user_id, op_id.0.clone());
        if self.applied.contains(&key) {
            self.ack_without_change(op_id, target, true);
            return;
        }
        if role < op.required_role() {
            metrics::counter!("cartroom_ops_total", "result" => "forbidden").increment(1);
            let message = format!(
                "{} may not {}",
                with_article(role),
                op.kind().replace('_', " ")
            );
            return self.refuse_op(target, op_id, OpError::new(ErrorCode::Forbidden, message));
        }
        let now_ms = self.shared.clock.now_ms();
        let started = Instant::now();
        let applied = cart::apply_op(
            &mut self.doc,
            &mut self.mirror,
            &OpContext {
                actor: &actor,
                op_id: &op_id,
                catalog: &self.shared.catalog,
                now_ms,
                node_id: self.shared.node_id,
            },
            &op,
        );
        metrics::histogram!("cartroom_op_apply_seconds").record(started.elapsed().as_secs_f64());
        let applied = match applied {
            Ok(applied) => applied,
            Err(e) => {
                metrics::counter!("cartroom_ops_total", "result" => e.code.as_str()).increment(1);
                return self.refuse_op(target, op_id, e);
            }
        };
        metrics::counter!("cartroom_ops_total", "result" => "accepted").increment(1);
        let Some(change) = applied.change else {
            return self.ack_without_change(op_id, target, false);
        };
        self.saved = None;
        self.seq += 1;
        self.activity_seq += 1;
        self.remember_op(key);
        let activity = ActivityEvent {
            seq: self.activity_seq,
            at: now_ms,
            user_id: actor.user_id,
            user_name: actor.name.clone(),
            kind: op.kind().to_owned(),
            text: cart::activity_text(&actor.name, &applied.summary, &applied.totals),
            subtotal: applied.totals.subtotal,
            currency: applied.totals.currency.clone(),
        };
        let frame =
            Message::Binary(BinaryFrame::encode(FrameKind::Changes, self.cart_id, &change).into());
        let seq = self.seq;
        let heads = heads_hex(&self.doc);
        let commit = self
            .shared
            .writer
            .append(ChangeRecord {
                cart_id: self.cart_id,
                seq,
                bytes: change,
                user_id: actor.user_id,
                op_id: op_id.0.clone(),
                activity: activity.clone(),
                name: applied.totals.name,
                line_count: applied.totals.line_count,
            })
            .await;
        self.pending.push_back(Box::pin(async move {
            let result = commit.await;
            Completed::Commit {
                result,
                seq,
                frame,
                heads,
                op_id,
                target,
                activity,
            }
        }));
    }

    /// Acks after the commits queued so far, since the answer reports their heads.
    fn ack_without_change(&mut self, op_id: OpId, target: AckTarget, duplicate: bool) {
        let heads = heads_hex(&self.doc);
        self.pending.push_back(Box::pin(async move {
            Completed::Ack {
                op_id,
                heads,
                target,
                duplicate,
            }
        }));
    }

    fn remember_op(&mut self, key: (UserId, String)) {
        self.applied.insert(key.clone());
        self.applied_order.push_back(key);
        while self.applied_order.len() > OP_MEMORY {
            if let Some(old) = self.applied_order.pop_front() {
                self.applied.remove(&old);
            }
        }
    }

    fn refuse_op(&self, target: AckTarget, op_id: OpId, error: OpError) {
        match target {
            AckTarget::Conn(conn) => {
                conn.send_msg(&error_msg(
                    error.code,
                    error.message,
                    Some(self.cart_id),
                    Some(op_id),
                ));
            }
            AckTarget::Http(reply) => {
                let _ = reply.send(Err(error));
            }
        }
    }

    async fn chat(&mut self, conn: ConnHandle, text: String) {
        if !self.subscribers.contains_key(&conn.id) {
            conn.send_msg(&error_msg(
                ErrorCode::NotSubscribed,
                "subscribe to this cart first",
                Some(self.cart_id),
                None,
            ));
            return;
        }
        let chat = ServerMsg::Chat {
            cart_id: self.cart_id,
            user_id: conn.actor.user_id,
            user_name: conn.actor.name.clone(),
            text: text.clone(),
            at: self.shared.clock.now_ms(),
        };
        let line = format!("{}: {}", conn.actor.name, text);
        let actor = conn.actor.clone();
        self.record_activity(&actor, "chat", line, Some((conn, chat)))
            .await;
    }

    /// Saves an activity event that is not a change and broadcasts it once
    /// durable: a chat (with its author, told if saving fails) as its `chat`
    /// message, anything else as `activity`.
    async fn record_activity(
        &mut self,
        actor: &Actor,
        kind: &str,
        text: String,
        chat: Option<(ConnHandle, ServerMsg)>,
    ) {
        self.activity_seq += 1;
        let event = ActivityEvent {
            seq: self.activity_seq,
            at: self.shared.clock.now_ms(),
            user_id: actor.user_id,
            user_name: actor.name.clone(),
            kind: kind.to_owned(),
            text,
            subtotal: self.mirror.subtotal(),
            currency: self.mirror.currency().to_owned(),
        };
        let (author, msg) = match chat {
            Some((conn, chat)) => (Some(conn), text_message(&chat)),
            None => (
                None,
                text_message(&ServerMsg::Activity {
                    cart_id: self.cart_id,
                    event: event.clone(),
                }),
            ),
        };
        let commit = self
            .shared
            .writer
            .append_activity(self.cart_id, event.clone())
            .await;
        self.pending.push_back(Box::pin(async move {
            let result = commit.await;
            Completed::Note {
                result,
                author,
                event,
                msg,
            }
        }));
    }

    fn push_activity(&mut self, event: ActivityEvent) {
        self.activity.push_back(event);
        while self.activity.len() > ACTIVITY_MEMORY {
            self.activity.pop_front();
        }
    }

    fn member_changed(&mut self, user_id: UserId, role: Option<MemberRole>) {
        let affected: Vec<u64> = self
            .subscribers
            .iter()
            .filter(|(_, s)| s.conn.actor.user_id == user_id)
            .map(|(id, _)| *id)
            .collect();
        let Some(sub) = affected.first().and_then(|id| self.subscribers.get(id)) else {
            return;
        };
        let (actor, old_role) = (sub.conn.actor.clone(), sub.role);
        for conn_id in affected {
            match role {
                Some(role) => {
                    if let Some(sub) = self.subscribers.get_mut(&conn_id) {
                        sub.role = role;
                        sub.conn.send_msg(&ServerMsg::RoleChanged {
                            cart_id: self.cart_id,
                            role,
                        });
                    }
                }
                None => {
                    if let Some(sub) = self.subscribers.remove(&conn_id) {
                        sub.conn.send_msg(&ServerMsg::Unsubscribed {
                            cart_id: self.cart_id,
                            reason: "removed".into(),
                        });
                    }
                }
            }
        }
        self.announce_presence(&actor, role.unwrap_or(old_role));
    }

    async fn delete(&mut self) {
        while let Some(done) = self.pending.next().await {
            self.complete(done);
        }
        self.unsubscribe_all("deleted");
    }

    /// Ends every subscription with `unsubscribed` and the given reason.
    fn unsubscribe_all(&mut self, reason: &str) {
        let msg = text_message(&ServerMsg::Unsubscribed {
            cart_id: self.cart_id,
            reason: reason.into(),
        });
        for (_, sub) in self.subscribers.drain() {
            sub.conn.deliver(msg.clone());
        }
    }

    /// Finishes work whose commits are done. False when the room must stop
    /// (a commit failed: the document holds a change that is not durable).
    fn complete(&mut self, done: Completed) -> bool {
        match done {
            Completed::Commit {
                result,
                seq,
                frame,
                heads,
                op_id,
                target,
                activity,
            } => {
                if let Err(e) = result {
                    tracing::error!(error = %e, seq, "commit failed; unloading the room");
                    self.refuse_op(
                        target,
                        op_id,
                        OpError::new(
                            ErrorCode::Unavailable,
                            "the cart could not be saved; try again",
                        ),
                    );
                    self.unsubscribe_all("unavailable");
                    return false;
                }
                self.broadcast(frame);
                let ack = OpAck {
                    op_id,
                    heads,
                    duplicate: false,
                };
                self.ack(target, ack);
                let msg = text_message(&ServerMsg::Activity {
                    cart_id: self.cart_id,
                    event: activity.clone(),
                });
                self.push_activity(activity);
                self.broadcast(msg);
                self.maybe_snapshot();
            }
            Completed::Ack {
                op_id,
                heads,
                target,
                duplicate,
            } => {
                self.ack(
                    target,
                    OpAck {
                        op_id,
                        heads,
                        duplicate,
                    },
                );
            }
            Completed::Subscribe {
                conn,
                role,
                payload,
                frame,
                heads,
            } => {
                let conn_id = conn.id;
                self.subscribers.insert(
                    conn_id,
                    Subscriber {
                        conn: conn.clone(),
                        role,
                        status: None,
                    },
                );
                let subscribed = ServerMsg::Subscribed {
                    cart_id: self.cart_id,
                    role,
                    payload,
                    heads,
                    presence: self.presence(),
                    activity: self.activity.iter().cloned().collect(),
                };
                if !(conn.send_msg(&subscribed) && conn.deliver(frame)) {
                    self.subscribers.remove(&conn_id);
                }
                self.announce_presence(&conn.actor, role);
            }
            Completed::Reply(send) => send(),
            Completed::Note {
                result,
                author,
                event,
                msg,
            } => match result {
                Ok(()) => {
                    self.push_activity(event);
                    self.broadcast(msg);
                }
                Err(e) => {
                    tracing::warn!(error = %e, kind = %event.kind, "an activity event could not be saved");
                    if let Some(conn) = author {
                        conn.send_msg(&error_msg(
                            ErrorCode::Unavailable,
                            "the message could not be sent; try again",
                            Some(self.cart_id),
                            None,
                        ));
                    }
                }
            },
        }
        true
    }

    fn ack(&self, target: AckTarget, ack: OpAck) {
        match target {
            AckTarget::Conn(conn) => {
                conn.send_msg(&ServerMsg::Ack {
                    cart_id: self.cart_id,
                    op_id: ack.op_id,
                    heads: ack.heads,
                    duplicate: ack.duplicate,
                });
            }
            AckTarget::Http(reply) => {
                let _ = reply.send(Ok(ack));
            }
        }
    }

    /// Compacts the change log once it is long and nothing is in flight, so
    /// that the snapshot holds only committed changes.
    fn maybe_snapshot(&mut self) {
        let since = (self.seq - self.snapshot_seq) as u64;
        if since < self.shared.config.snapshot_every || !self.pending.is_empty() {
            return;
        }
        let started = Instant::now();
        let bytes = self.saved_doc().to_vec();
        metrics::histogram!("cartroom_snapshot_seconds").record(started.elapsed().as_secs_f64());
        let cmd = WriteCmd::Snapshot {
            cart_id: self.cart_id,
            upto_seq: self.seq,
            bytes,
            forget_ops_before: self.seq - OP_MEMORY as i64,
        };
        // Every change this snapshot covers is committed already; when the
        // writer's queue is full, compaction waits for a later change.
        if self.shared.writer.try_send(cmd) {
            self.snapshot_seq = self.seq;
        }
    }
}
