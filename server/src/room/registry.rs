//! The registry of loaded rooms: finds a cart's room or starts it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cartroom_protocol::CartId;
use dashmap::DashMap;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::command::RoomCmd;
use super::env::RoomEnv;
use super::lifecycle::run_room;

/// How to reach one running room; `id` tells a restarted room from the old one.
#[derive(Clone, Debug)]
struct RoomHandle {
    id: u64,
    tx: mpsc::Sender<RoomCmd>,
}

/// The room could not take the command (shutting down).
#[derive(Debug, thiserror::Error)]
#[error("the server is shutting down")]
pub struct RoomsClosed;

/// Every room loaded on this node.
pub struct Rooms {
    map: DashMap<CartId, RoomHandle>,
    next_id: AtomicU64,
    env: Arc<RoomEnv>,
    /// Rooms are tracked so that shutdown waits for their commits.
    tracker: TaskTracker,
    /// Cancelled on shutdown; rooms finish their commits and stop.
    shutdown: CancellationToken,
}

impl Rooms {
    pub fn new(env: RoomEnv, tracker: TaskTracker, shutdown: CancellationToken) -> Arc<Self> {
        Arc::new(Self {
            map: DashMap::new(),
            next_id: AtomicU64::new(1),
            env: Arc::new(env),
            tracker,
            shutdown,
        })
    }

    /// Number of loaded rooms.
    pub fn loaded(&self) -> usize {
        self.map.len()
    }

    pub(super) fn env(&self) -> &Arc<RoomEnv> {
        &self.env
    }

    pub(super) fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Sends a command to the cart's room, loading the room if needed.
    pub async fn send(self: &Arc<Self>, cart: CartId, mut cmd: RoomCmd) -> Result<(), RoomsClosed> {
        loop {
            if self.shutdown.is_cancelled() {
                return Err(RoomsClosed);
            }
            // The entry guard is dropped at the end of this statement, before any await.
            let handle = self
                .map
                .entry(cart)
                .or_insert_with(|| self.spawn(cart))
                .clone();
            match handle.tx.send(cmd).await {
                Ok(()) => return Ok(()),
                Err(mpsc::error::SendError(returned)) => {
                    // That room just stopped; forget it and start a fresh one.
                    self.forget(cart, handle.id);
                    cmd = returned;
                }
            }
        }
    }

    /// Waits (at most `within`) until the cart's room, on this node or its
    /// owner, took every command sent to it before; false when it did not.
    pub async fn barrier(self: &Arc<Self>, cart: CartId, within: std::time::Duration) -> bool {
        let (reply, passed) = tokio::sync::oneshot::channel();
        if self.send(cart, RoomCmd::Barrier { reply }).await.is_err() {
            return false;
        }
        matches!(tokio::time::timeout(within, passed).await, Ok(Ok(())))
    }

    /// Sends a command only if the room is loaded (nothing to tell otherwise).
    pub async fn send_if_loaded(&self, cart: CartId, cmd: RoomCmd) {
        let handle = self.map.get(&cart).map(|h| h.clone());
        if let Some(handle) = handle {
            let _ = handle.tx.send(cmd).await;
        }
    }

    fn spawn(self: &Arc<Self>, cart: CartId) -> RoomHandle {
        let (tx, rx) = mpsc::channel(self.env.limits.queue);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let span = tracing::info_span!("room", cart_id = %cart);
        self.tracker
            .spawn(run_room(self.clone(), cart, id, rx, tx.downgrade()).instrument(span));
        RoomHandle { id, tx }
    }

    /// Removes the room `id` from the registry, unless a newer one took its place.
    pub(super) fn forget(&self, cart: CartId, id: u64) {
        self.map.remove_if(&cart, |_, h| h.id == id);
    }
}
