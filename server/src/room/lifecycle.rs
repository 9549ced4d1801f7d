//! A room's life: load the cart, serve commands until idle or shut down,
//! finish every pending commit, and hand what raced in to a fresh room.

use std::sync::Arc;
use std::time::Instant;

use automerge::Automerge;
use cartroom_protocol::{CartId, ErrorCode};
use tokio::sync::mpsc;

use super::command::{OpOrigin, RoomCmd};
use super::engine::Room;
use super::frame::Frame;
use super::registry::Rooms;
use crate::cart::CartMirror;
use crate::refusal::Refusal;
use crate::store::{CartState, StoreError};

/// Why a cart could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("snapshot: {0}")]
    Snapshot(automerge::AutomergeError),
    #[error("change log: {0}")]
    ChangeLog(automerge::AutomergeError),
    #[error("document: {0}")]
    Schema(Refusal),
    #[error("rebuilding the document panicked")]
    Panicked,
    #[error("the cart's store {0:?} is not among the server's stores")]
    UnknownStore(String),
}

pub(super) async fn run_room(
    rooms: Arc<Rooms>,
    cart_id: CartId,
    room_id: u64,
    mut rx: mpsc::Receiver<RoomCmd>,
) {
    let mut room = match load(&rooms, cart_id).await {
        Ok(Some(room)) => room,
        other => {
            let refusal = match other {
                Ok(_) => Refusal::new(ErrorCode::CartNotFound, "this cart does not exist"),
                Err(e) => {
                    tracing::error!(error = %e, "loading the cart failed");
                    Refusal::unavailable()
                }
            };
            rooms.forget(cart_id, room_id);
            rx.close();
            while let Some(cmd) = rx.recv().await {
                refuse(cart_id, cmd, &refusal);
            }
            return;
        }
    };
    metrics::gauge!("cartroom_rooms_loaded").increment(1.0);
    let mut catalog_versions = room.catalog.watch();
    room.follow_catalog().await;
    let shutdown = rooms.shutdown().clone();
    let idle = rooms.env().limits.idle;
    let mut idle_since = tokio::time::Instant::now();
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
        }
    }
    // Stop taking commands; what raced in goes to a fresh room once this one is forgotten.
    rooms.forget(cart_id, room_id);
    rx.close();
    room.finish_pending().await;
    let leftovers: Vec<RoomCmd> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    metrics::gauge!("cartroom_rooms_loaded").decrement(1.0);
    tracing::debug!(leftovers = leftovers.len(), "room unloaded");
    for cmd in leftovers {
        if rooms.send(cart_id, cmd).await.is_err() {
            break;
        }
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

async fn load(rooms: &Rooms, cart_id: CartId) -> Result<Option<Room>, LoadError> {
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
    Ok(Some(Room::new(
        env.clone(),
        cart_id,
        catalog,
        doc,
        mirror,
        state,
    )))
}

/// The document: the snapshot, then the changes after it, in order.
fn rebuild(state: &CartState) -> Result<Automerge, LoadError> {
    let mut doc = Automerge::load(&state.snapshot).map_err(LoadError::Snapshot)?;
    for change in &state.changes {
        doc.load_incremental(change).map_err(LoadError::ChangeLog)?;
    }
    Ok(doc)
}
