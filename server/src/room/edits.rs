//! What a room tells the rest of the node about each committed edit of a
//! cart's lines: the support desk turns them into tips (`services::support`).
//!
//! The room hands an edit to its [`EditTap`] once the edit's change is
//! durable, right where the op's ack goes out, so that nobody hears of an
//! edit that a crash could undo, and edits of one cart arrive in commit
//! order. The tap must not block the room: an implementation queues the
//! edit (bounded) and returns.

use cartroom_protocol::{CartId, UserId};

use crate::cart::LineChange;

/// One committed op that changed some quantities of a cart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CartEdit {
    pub cart_id: CartId,
    pub store_id: String,
    /// Who made the edit.
    pub user_id: UserId,
    /// Made on a live connection (a WebSocket on any node), not over HTTP.
    pub live: bool,
    /// When (Unix ms, the room's clock).
    pub at: i64,
    /// The products whose quantity changed, by sku; never empty.
    pub line_changes: Vec<LineChange>,
    /// The cart's subtotal after the edit, in minor units of `currency`.
    pub subtotal: i64,
    pub currency: String,
}

/// Hears committed edits. Called on the room's task: it must return at once.
pub trait EditTap: Send + Sync {
    fn edited(&self, edit: CartEdit);
}

/// Keeps every edit it hears, for tests of what rooms report.
#[cfg(test)]
#[derive(Default)]
pub struct RecordedEdits(std::sync::Mutex<Vec<CartEdit>>);

#[cfg(test)]
impl RecordedEdits {
    /// The edits heard so far, in order.
    pub fn edits(&self) -> Vec<CartEdit> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
impl EditTap for RecordedEdits {
    fn edited(&self, edit: CartEdit) {
        // Nothing awaits under this lock.
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(edit);
    }
}
