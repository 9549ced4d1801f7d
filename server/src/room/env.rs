//! What a room may use, and nothing else.

use std::sync::Arc;
use std::time::Duration;

use super::edits::EditTap;
use crate::cart::NodeId;
use crate::catalog::Catalogs;
use crate::clock::Clock;
use crate::cluster::{Bus, LeaseKeeper};
use crate::store::{ChangeLog, LoadLimits};

/// A room's environment, shared by every room of a node.
pub struct RoomEnv {
    /// Loads carts and makes their changes durable.
    pub changes: Arc<dyn ChangeLog>,
    /// Every store's prices and stock; a room validates ops against its
    /// cart's store.
    pub catalogs: Catalogs,
    pub clock: Arc<dyn Clock>,
    /// Hears each committed edit of a cart's quantities (support tips).
    pub edits: Arc<dyn EditTap>,
    /// Part of every Automerge actor id made here.
    pub node: NodeId,
    /// Many nodes: a room runs only while its node holds the cart's lease.
    /// `None` on one node.
    pub leases: Option<Arc<LeaseKeeper>>,
    /// Many nodes on NATS: a cart owned elsewhere is relayed to its owner
    /// (`cluster::relay`). `None`: such a cart is refused `unavailable`.
    pub cluster: Option<Arc<Bus>>,
    pub limits: RoomLimits,
}

/// The bounds of a room.
#[derive(Clone, Copy, Debug)]
pub struct RoomLimits {
    /// A room with nobody subscribed unloads after this long.
    pub idle: Duration,
    /// Changes after which the document restarts as a new epoch.
    pub epoch_every: u64,
    /// Op ids remembered per cart for idempotent retries.
    pub op_memory: usize,
    /// Activity events kept in memory and sent with `subscribed`.
    pub activity_memory: usize,
    /// Commands queued in front of one room.
    pub queue: usize,
}

impl RoomLimits {
    /// The production bounds, with the configured idle time and epoch length.
    pub fn new(idle: Duration, epoch_every: u64) -> Self {
        Self {
            idle,
            epoch_every,
            op_memory: 1000,
            activity_memory: 50,
            queue: 1024,
        }
    }

    pub(super) fn load(&self) -> LoadLimits {
        LoadLimits {
            op_memory: self.op_memory,
            activity_memory: self.activity_memory,
        }
    }
}
