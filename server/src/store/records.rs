//! What goes in and out of the store traits, beside the wire types that
//! the protocol crate already defines (users, members, cart summaries).

use cartroom_protocol::{ActivityEvent, CartId, MemberRole, OpId, UserId};

use super::CartHooks;

/// One accepted change and everything recorded with it: one row, so that
/// an edit writes one B-tree (its op id, activity and the cart's figures
/// travel in the change's row).
#[derive(Debug)]
pub struct ChangeRecord {
    pub cart_id: CartId,
    /// Position in the cart's change log (1, 2, ...); with the cart id, the
    /// key that fences two writers of one cart.
    pub seq: i64,
    /// The document epoch the change was made in: it depends on that
    /// epoch's base, so it is refused unless that epoch is the cart's
    /// current one where it is written (a base that failed to commit, or a
    /// writer of an older epoch, must not leave changes behind).
    pub epoch: i64,
    /// The lease term of the room that made it, where carts have leases
    /// (many nodes; see [`super::Leases`]): it commits only while its node
    /// still holds that term of the cart's lease. 0 on one node.
    pub term: i64,
    /// The raw Automerge change.
    pub bytes: Vec<u8>,
    /// Who sent the op, and its id, for idempotent retries. The activity
    /// event is stored as this user's.
    pub user_id: UserId,
    pub op_id: OpId,
    /// Its subtotal and time are the cart's figures after the change, which
    /// listing carts reads from the latest change.
    pub activity: ActivityEvent,
    /// The cart's line count after the change.
    pub line_count: i64,
    /// The cart's name and lock deadline, only when they differ from what
    /// the room last sent (and with the first change after it loaded): they
    /// are written to the cart's row, where deadlines are found without
    /// loading rooms.
    pub summary: Option<CartSummary>,
    /// What the store's webhooks hear of it, written in the same commit.
    pub hooks: CartHooks,
}

/// What of a cart's document its row keeps, written only when it changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CartSummary {
    pub name: String,
    /// When the cart locks by itself, if ever.
    pub lock_deadline: Option<i64>,
}

/// A base of a cart's document: `doc.save()` of epoch `epoch`, covering
/// every change with a sequence number up to `base_seq`. A base of the
/// current epoch replaces its base; a base of a later epoch starts that
/// epoch, and the previous one is archived with its base. Changes are never
/// deleted, so every epoch's history stays readable.
#[derive(Debug)]
pub struct Base {
    pub cart_id: CartId,
    pub epoch: i64,
    /// As [`ChangeRecord::term`].
    pub term: i64,
    pub base_seq: i64,
    pub bytes: Vec<u8>,
    /// Unix ms; when a new epoch starts, its start time.
    pub at: i64,
}

/// One epoch of a cart's document, for history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochInfo {
    pub epoch: i64,
    /// The epoch's changes are those after this sequence number (its first
    /// base covers every change up to it).
    pub base_seq: i64,
    /// Unix ms the epoch started.
    pub started_at: i64,
    /// The sequence number of its last change (`base_seq` when none).
    pub last_seq: i64,
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
    /// The document's current epoch, and its base.
    pub epoch: i64,
    pub snapshot: Vec<u8>,
    /// Changes after the base, in order.
    pub changes: Vec<Vec<u8>>,
    /// The last change sequence number.
    pub last_seq: i64,
    /// The last change the base covers.
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

/// A new cart: its row, its creator as admin and its first base (epoch 0).
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
