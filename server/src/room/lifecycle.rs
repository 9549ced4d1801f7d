//! A room's life: load the cart, serve commands until idle or shut down,
//! finish every pending commit, and hand what raced in to a fresh room.
//! On the way, every so many changes, the document restarts as a new epoch
//! (`cart::epoch`), so that what a room costs does not grow with the
//! cart's history.

use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::{Automerge, ReadDoc};
use bytes::Bytes;
use cartroom_protocol::{CartId, ErrorCode, FrameKind, ServerMsg};
use tokio::sync::mpsc;

use super::command::{OpOrigin, RoomCmd};
use super::engine::Room;
use super::frame::Frame;
use super::registry::Rooms;
use crate::cart::view::heads_of;
use crate::cart::{CartMirror, epoch};
use crate::cluster::Lease;
use crate::cluster::inbox::Inbox;
use crate::cluster::leases::Taken;
use crate::cluster::relay::{self, Carried, RelayEnd};
use crate::refusal::Refusal;
use crate::store::{Base, CartState, StoreError};

/// Why a cart could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("the epoch's base or its changes: {0}")]
    Document(automerge::AutomergeError),
    #[error("changes depend on {0} changes the epoch does not have")]
    MissingDeps(usize),
    #[error("document: {0}")]
    Schema(Refusal),
    #[error("rebuilding the document panicked")]
    Panicked,
    #[error("the cart's store {0:?} is not among the server's stores")]
    UnknownStore(String),
    #[error("node {0:?} holds the cart's lease")]
    Elsewhere(String),
}

pub(super) async fn run_room(
    rooms: Arc<Rooms>,
    cart_id: CartId,
    room_id: u64,
    mut rx: mpsc::Receiver<RoomCmd>,
    tx: mpsc::WeakSender<RoomCmd>,
) {
    // Subscribers a relay moves to the cart's next owner.
    let mut carried = Vec::new();
    // Since when this node looks for the cart's next owner, and how long
    // it waits between tries.
    let mut failover: Option<(Instant, Duration)> = None;
    let room = loop {
        let refusal = match load(&rooms, cart_id).await {
            Ok(Some(room)) => break room,
            Ok(None) => Refusal::new(ErrorCode::CartNotFound, "this cart does not exist"),
            Err(LoadError::Elsewhere(node)) => {
                let Some(bus) = &rooms.env().cluster else {
                    tracing::debug!(node, "the cart's room runs on another node");
                    break_refused(
                        &rooms,
                        cart_id,
                        room_id,
                        rx,
                        carried,
                        &Refusal::unavailable(),
                    )
                    .await;
                    return;
                };
                let idle = rooms.env().limits.idle;
                let shutdown = rooms.shutdown();
                let moved = std::mem::take(&mut carried);
                match relay::run(bus, cart_id, &node, &mut rx, moved, idle, shutdown).await {
                    RelayEnd::Idle | RelayEnd::Stopped => {
                        hand_over(&rooms, cart_id, room_id, rx).await;
                        return;
                    }
                    RelayEnd::OwnerGone(subscribers) => {
                        carried = subscribers;
                        // The owner's lease lapses within its ttl; then
                        // this node or another takes the cart.
                        let (since, wait) =
                            failover.get_or_insert((Instant::now(), FAILOVER_FIRST_WAIT));
                        if since.elapsed() < bus.lease_ttl * 2 + FAILOVER_SLACK {
                            tokio::select! {
                                _ = tokio::time::sleep(*wait) => {}
                                _ = shutdown.cancelled() => {}
                            }
                            *wait = (*wait * 2).min(FAILOVER_MAX_WAIT);
                            continue;
                        }
                        tracing::warn!(node, "no node took the cart over");
                        Refusal::unavailable()
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "loading the cart failed");
                Refusal::unavailable()
            }
        };
        break_refused(&rooms, cart_id, room_id, rx, carried, &refusal).await;
        return;
    };
    if failover.is_some() {
        metrics::counter!("cartroom_failovers_total").increment(1);
    }
    serve(rooms, cart_id, room_id, rx, tx, room, carried).await;
}

/// Between tries to find a cart's next owner: from this, doubling, to the
/// most; tries stop after twice the lease plus the slack.
const FAILOVER_FIRST_WAIT: Duration = Duration::from_millis(50);
const FAILOVER_MAX_WAIT: Duration = Duration::from_millis(250);
const FAILOVER_SLACK: Duration = Duration::from_secs(5);

/// Runs a loaded room until idle, stopped, deleted or its lease lost.
async fn serve(
    rooms: Arc<Rooms>,
    cart_id: CartId,
    room_id: u64,
    mut rx: mpsc::Receiver<RoomCmd>,
    tx: mpsc::WeakSender<RoomCmd>,
    mut room: Box<Room>,
    carried: Vec<Carried>,
) {
    metrics::gauge!("cartroom_rooms_loaded").increment(1.0);
    // Many nodes: other nodes' commands for the cart, while it runs here.
    let _inbox = match &rooms.env().cluster {
        Some(bus) => Inbox::open(bus.clone(), cart_id, tx)
            .await
            .inspect_err(|e| tracing::warn!(error = %e, "other nodes cannot reach this room"))
            .ok(),
        None => None,
    };
    let mut catalog_versions = room.catalog.watch();
    room.follow_catalog().await;
    room.maybe_new_epoch();
    for sub in carried {
        room.handle(sub.subscribe()).await;
    }
    let shutdown = rooms.shutdown().clone();
    let idle = rooms.env().limits.idle;
    let mut idle_since = tokio::time::Instant::now();
    // One node: a lease that is never lost.
    let lease_lost = room
        .lease
        .as_ref()
        .map(|l| l.lost.clone())
        .unwrap_or_default();
    loop {
        let unloadable = room.is_idle();
        tokio::select! {
            cmd = rx.recv(), if !shutdown.is_cancelled() => {
                let Some(cmd) = cmd else { break };
                if let RoomCmd::Delete { reply } = cmd {
                    room.delete().await;
                    let _ = reply.send(());
                    break;
                }
                room.handle(cmd).await;
                idle_since = tokio::time::Instant::now();
            }
            Ok(()) = catalog_versions.changed() => room.follow_catalog().await,
            Some(done) = room.pending.next() => {
                if !room.complete(done) {
                    break;
                }
                // Idle counts from the last work done, not the last command.
                idle_since = tokio::time::Instant::now();
            }
            _ = tokio::time::sleep_until(idle_since + idle), if unloadable => break,
            _ = shutdown.cancelled(), if room.pending.is_empty() => break,
            _ = lease_lost.cancelled() => {
                // Another node may run the cart now: nothing here may
                // answer for it (the writer refuses what is still queued).
                room.unsubscribe_all("unavailable");
                break;
            }
        }
    }
    // Stop taking commands; what raced in goes to a fresh room once this one is forgotten.
    rooms.forget(cart_id, room_id);
    rx.close();
    room.finish_pending().await;
    if let (Some(keeper), Some(lease)) = (&rooms.env().leases, &room.lease) {
        keeper.release(cart_id, lease.term).await;
    }
    metrics::gauge!("cartroom_rooms_loaded").decrement(1.0);
    tracing::debug!("room unloaded");
    hand_over_leftovers(&rooms, cart_id, rx).await;
}

/// A relay stopped: it takes no more commands; what raced in goes to a
/// fresh room (or relay).
async fn hand_over(
    rooms: &Arc<Rooms>,
    cart_id: CartId,
    room_id: u64,
    mut rx: mpsc::Receiver<RoomCmd>,
) {
    rooms.forget(cart_id, room_id);
    rx.close();
    hand_over_leftovers(rooms, cart_id, rx).await;
}

/// The commands left in a stopped room's queue, sent again.
async fn hand_over_leftovers(rooms: &Arc<Rooms>, cart_id: CartId, mut rx: mpsc::Receiver<RoomCmd>) {
    let leftovers: Vec<RoomCmd> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    for cmd in leftovers {
        if rooms.send(cart_id, cmd).await.is_err() {
            break;
        }
    }
}

/// No room will run here: every command, and every subscriber a relay
/// carried, is refused.
async fn break_refused(
    rooms: &Rooms,
    cart_id: CartId,
    room_id: u64,
    mut rx: mpsc::Receiver<RoomCmd>,
    carried: Vec<Carried>,
    refusal: &Refusal,
) {
    rooms.forget(cart_id, room_id);
    rx.close();
    for Carried { conn, .. } in carried {
        conn.deliver(Frame::msg(&ServerMsg::Unsubscribed {
            cart_id,
            reason: "unavailable".into(),
        }));
        conn.unsubscribed(cart_id);
    }
    while let Some(cmd) = rx.recv().await {
        refuse(cart_id, cmd, refusal);
    }
}

/// Answers a command that no room will handle.
fn refuse(cart_id: CartId, cmd: RoomCmd, refusal: &Refusal) {
    match cmd {
        RoomCmd::Subscribe { conn, .. } => {
            conn.deliver(Frame::refusal(refusal, Some(cart_id), None));
            conn.unsubscribed(cart_id);
        }
        RoomCmd::Op { origin, op_id, .. } => match origin {
            OpOrigin::Subscriber(conn) => {
                conn.deliver(Frame::refusal(refusal, Some(cart_id), Some(op_id)));
            }
            OpOrigin::Direct { reply, .. } => {
                let _ = reply.send(Err(refusal.clone()));
            }
        },
        RoomCmd::Delete { reply } => {
            let _ = reply.send(());
        }
        RoomCmd::ServerOp { reply, .. } => {
            let _ = reply.send(Err(refusal.clone()));
        }
        RoomCmd::Hold { reply } => {
            let _ = reply.send(Err(refusal.clone()));
        }
        // Dropping a read's reply tells the caller the cart is unavailable.
        _ => {}
    }
}

/// Takes the cart's lease (many nodes), then loads its room; gives the
/// lease back when the room does not load.
/// The room is boxed: a `Room` is ~4.7 kB, and every future it passes
/// through by value would keep room for a copy of it for the room's life.
async fn load(rooms: &Rooms, cart_id: CartId) -> Result<Option<Box<Room>>, LoadError> {
    let Some(keeper) = &rooms.env().leases else {
        return load_room(rooms, cart_id, None).await;
    };
    let lease = match keeper.acquire(cart_id).await? {
        Taken::Held(lease) => lease,
        Taken::Elsewhere { node } => return Err(LoadError::Elsewhere(node)),
        Taken::NoCart => return Ok(None),
    };
    let term = lease.term;
    let loaded = load_room(rooms, cart_id, Some(lease)).await;
    if !matches!(loaded, Ok(Some(_))) {
        keeper.release(cart_id, term).await;
    }
    loaded
}

async fn load_room(
    rooms: &Rooms,
    cart_id: CartId,
    lease: Option<Lease>,
) -> Result<Option<Box<Room>>, LoadError> {
    let env = rooms.env();
    let Some(state) = env.changes.load_cart(cart_id, env.limits.load()).await? else {
        return Ok(None);
    };
    let catalog = env
        .catalogs
        .get(&state.store_id)
        .ok_or_else(|| LoadError::UnknownStore(state.store_id.clone()))?
        .clone();
    // Rebuilding a document is CPU work that grows with its history: off
    // the async threads, so that one big cart does not stall every socket.
    let (doc, mirror, state) = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let doc = rebuild(&state)?;
        let mirror = CartMirror::load(&doc).map_err(LoadError::Schema)?;
        tracing::debug!(
            changes = state.changes.len(),
            ms = started.elapsed().as_millis() as u64,
            "room loaded"
        );
        Ok::<_, LoadError>((doc, mirror, state))
    })
    .await
    .map_err(|_| LoadError::Panicked)??;
    Ok(Some(Box::new(Room::new(
        env.clone(),
        cart_id,
        catalog,
        doc,
        mirror,
        state,
        lease,
    ))))
}

/// The document: the epoch's base, then the changes after it. A change
/// whose dependencies are missing (made on another epoch's base) would be
/// left out silently: the cart is refused instead.
fn rebuild(state: &CartState) -> Result<Automerge, LoadError> {
    let doc = epoch::load(&state.snapshot, &state.changes).map_err(LoadError::Document)?;
    match doc.get_missing_deps(&[]).len() {
        0 => Ok(doc),
        missing => Err(LoadError::MissingDeps(missing)),
    }
}

impl Room {
    /// Starts epoch n+1 once the document holds `epoch_every` changes past
    /// its first and nothing is in flight (so the new base covers only
    /// committed changes, and no subscriber is still waiting for a document
    /// of epoch n). Counting the document's changes, not the log's, also
    /// restarts a cart loaded from a base that carries a long history. The
    /// base is queued before any change of the new epoch; when the writer's
    /// queue is full, the room stays in epoch n and tries again after a
    /// later change.
    pub(super) fn maybe_new_epoch(&mut self) {
        let past_first = self.doc.stats().num_changes.saturating_sub(1);
        if past_first < self.env.limits.epoch_every || !self.pending.is_empty() {
            return;
        }
        let started = Instant::now();
        let next = self.epoch + 1;
        let now_ms = self.env.clock.now_ms();
        let doc = match epoch::restart(&self.doc, next, now_ms, self.env.node) {
            Ok(doc) => doc,
            Err(e) => return tracing::error!(error = %e, "restarting the document failed"),
        };
        let mirror = match CartMirror::load(&doc) {
            Ok(mirror) => mirror,
            Err(e) => {
                return tracing::error!(error = %e.message, "the restarted document has no mirror");
            }
        };
        let bytes = Bytes::from(doc.save());
        let base = Base {
            cart_id: self.cart_id,
            epoch: next,
            term: self.term(),
            base_seq: self.seq,
            bytes: bytes.to_vec(),
            at: now_ms,
        };
        if !self.env.changes.try_put_base(base) {
            return;
        }
        metrics::histogram!("cartroom_epoch_seconds").record(started.elapsed().as_secs_f64());
        tracing::debug!(epoch = next, seq = self.seq, "new epoch");
        self.epoch = next;
        self.doc = doc;
        self.mirror = mirror;
        self.saved = Some(bytes.clone());
        // Replicas are replaced; the view did not change.
        let announce = Frame::msg(&ServerMsg::Epoch {
            cart_id: self.cart_id,
            epoch: next,
            heads: heads_of(&self.doc),
        });
        let document = Frame::automerge(FrameKind::Document, self.cart_id, &bytes);
        self.broadcast_replicas(&[announce, document]);
    }
}
