//! Every size bound of protocol v1. `docs/protocol.md` lists the same numbers.

/// Largest WebSocket message the server accepts; larger closes with 1009.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Longest `op_id`.
pub const MAX_OP_ID_LEN: usize = 64;
/// Longest line note or cart note, in characters.
pub const MAX_NOTE_CHARS: usize = 500;
/// Longest cart name, in characters.
pub const MAX_CART_NAME_CHARS: usize = 100;
/// Longest chat message, in characters.
pub const MAX_CHAT_CHARS: usize = 1000;
/// Longest string nonce of a `ping`, in characters.
pub const MAX_NONCE_CHARS: usize = 64;
/// Longest presence status, in characters.
pub const MAX_PRESENCE_STATUS_CHARS: usize = 64;
/// Lines in one cart.
pub const MAX_LINES: usize = 250;
/// Open suggestions in one cart.
pub const MAX_SUGGESTIONS: usize = 100;
/// Quantity of a line (and of a suggestion) is kept within this range.
pub const QUANTITY_RANGE: std::ops::RangeInclusive<i64> = 1..=999;
/// Carts a shopper may be subscribed to at once, across all their
/// connections.
pub const MAX_SUBSCRIPTIONS_PER_SHOPPER: usize = 64;
/// Carts one of a store's staff may be subscribed to at once, across all
/// their connections (an agent watches many customers).
pub const MAX_SUBSCRIPTIONS_PER_STAFF: usize = 512;
/// Heads a client may send with `subscribe`.
pub const MAX_HEADS: usize = 64;
/// Longest sku.
pub const MAX_SKU_LEN: usize = 64;
/// Messages per second a connection may send (sustained), and its burst.
pub const RATE_PER_SECOND: u32 = 50;
/// Burst allowance of the per-connection rate limit.
pub const RATE_BURST: u32 = 100;
