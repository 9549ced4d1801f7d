//! The room follows its store's catalog: when a new version is put in
//! force (a sync, an order's stock) and once on load, every line that
//! differs from it gets a server-originated change with an activity
//! event, committed and broadcast like any op ("Corner Shop: Blue Mug now
//! $10.00 (was $12.00)"). Ops are validated against the version in force
//! when each is applied.

use tokio::sync::oneshot;
use uuid::Uuid;

use super::engine::Room;
use crate::cart::{ServerOp, stale_lines};

impl Room {
    pub(super) async fn follow_catalog(&mut self) {
        let catalog = self.catalog.current();
        for sku in stale_lines(&self.mirror, &catalog) {
            // Nobody waits for these answers: the change reaches members as a
            // broadcast, and a refusal (the room failing) is logged by the op path.
            let (reply, _) = oneshot::channel();
            let op = ServerOp::FollowProduct {
                sku,
                token: Uuid::new_v4(),
            };
            self.server_op(op, reply).await;
        }
    }
}
