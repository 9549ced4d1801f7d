//! What goes in and out of the store traits, beside the wire types that
//! the protocol crate already defines (users, members, cart summaries).

use cartroom_protocol::{ActivityEvent, CartId, MemberRole, OpId, UserId};

use super::CartHooks;

/// One accepted change and everything recorded with it, in one commit.
#[derive(Debug)]
pub struct ChangeRecord {
    pub cart_id: CartId,
    /// Position in the cart's change log (1, 2, ...); with the cart id, the
    /// key that fences two writers of one cart.
    pub seq: i64,
    /// The raw Automerge change.
    pub bytes: Vec<u8>,
    /// Who sent the op, and its id, for idempotent retries.
    pub user_id: UserId,
    pub op_id: OpId,
    pub activity: ActivityEvent,
    /// The cart's name and line count after the change, so that listing
    /// carts never loads a room.
    pub name: String,
    pub line_count: i64,
    /// When the cart locks by itself after this change, if ever: kept
    /// beside the cart so that deadlines are found without loading rooms.
    pub lock_deadline: Option<i64>,
    /// What the store's webhooks hear of it, written in the same commit.
    pub hooks: CartHooks,
}

/// A compaction: `doc.save()` covering every change up to `upto_seq`, which
/// replaces the snapshot and trims the log in one transaction.
#[derive(Debug)]
pub struct Snapshot {
    pub cart_id: CartId,
    pub upto_seq: i64,
    pub bytes: Vec<u8>,
    /// Op ids recorded before this sequence number are forgotten.
    pub forget_ops_before: i64,
}

/// How much of a cart's recent past a room keeps in memory.
#[derive(Clone, Copy, Debug)]
pub struct LoadLimits {
    /// Recent (user, op id) pairs, for idempotent retries.
    pub op_memory: usize,
    /// Recent activity events, sent with `subscribed`.
    pub activity_memory: usize,
}

/// What a room needs to come alive.
#[derive(Debug, Default)]
pub struct CartState {
    /// The store whose catalog the cart's ops are validated against.
    pub store_id: String,
    pub snapshot: Vec<u8>,
    /// Changes after the snapshot, in order.
    pub changes: Vec<Vec<u8>>,
    /// The last change sequence number.
    pub last_seq: i64,
    pub snapshot_seq: i64,
    /// Recently applied (user, op id), oldest first.
    pub applied_ops: Vec<(UserId, OpId)>,
    /// Recent activity, oldest first.
    pub activity: Vec<ActivityEvent>,
    /// The members' names, for checkout ops that name a member.
    pub members: Vec<(UserId, String)>,
}

/// A cart as listed for one member; the service adds what the role allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CartListing {
    pub id: CartId,
    pub store_id: String,
    pub name: String,
    pub role: MemberRole,
    pub subtotal: i64,
    pub currency: String,
    pub line_count: i64,
}

/// A new cart: its row, its creator as admin and its first snapshot.
#[derive(Debug)]
pub struct NewCart<'a> {
    pub id: CartId,
    pub store_id: &'a str,
    pub name: &'a str,
    pub creator: UserId,
    pub snapshot: &'a [u8],
    pub now_ms: i64,
}

/// A membership change, checked against the one-admin and size rules.
#[derive(Clone, Copy, Debug)]
pub struct MemberChange {
    pub cart: CartId,
    pub user: UserId,
    /// `None` removes the member.
    pub role: Option<MemberRole>,
    /// Add the user when not a member yet (else `NotMember`).
    pub add_if_missing: bool,
    pub max_members: usize,
    pub now_ms: i64,
}
