//! Cartroom wire protocol, version 1.
//!
//! A client opens one WebSocket to `/ws` (authenticated at the handshake) and
//! may subscribe to several carts on it. Text frames carry JSON objects tagged
//! by `"type"` ([`ClientMsg`], [`ServerMsg`]); binary frames carry Automerge
//! bytes (on the `compact` stream, each change with its activity event,
//! [`Record`]) behind a 17-byte header naming the cart ([`BinaryFrame`]).
//! `docs/protocol.md` is the full specification with examples.
//!
//! # Layout
//! - [`ids`]: newtype ids (`CartId`, `UserId`, `OpId`, ...).
//! - [`messages`]: every WebSocket JSON message, both directions, the cart
//!   operations and the capabilities a role gives.
//! - [`http`]: the bodies of the HTTP API, both directions.
//! - [`analytics`]: the store owner's figures by day (carts, sharing,
//!   orders, invitations, share links).
//! - [`checkout`]: cart phases, split plans, addresses, the checkout view,
//!   quotes and orders (group checkout).
//! - [`sharing`]: the bodies of the sharing API (invitations, share links,
//!   accepting with a token, password reset).
//! - [`merchant`]: carts the store's staff send to a customer (live or copy).
//! - [`store`]: the store's staff (owners and staff) and their API bodies.
//! - [`back_office`]: the store API: API keys, catalog and customer sync,
//!   order export.
//! - [`support`]: the support desk's customers, conversations, messages
//!   and cart activity tips.
//! - [`takeover`]: the support desk's cart panel, takeovers, help codes
//!   and history.
//! - [`webhooks`]: the store's webhook endpoints, their delivery log, and
//!   the events POSTed to them.
//! - [`frame`]: the binary frame codec, kind-3 records included.
//! - [`codes`]: stable error codes and WebSocket close codes.
//! - [`limits`]: the bounds every frame and field must respect.
//! - `typescript` (tests only): renders the wire types as the web client's
//!   TypeScript types in `web-client/src/generated/` and checks they are current.
//!
//! This crate does no I/O; the server, the client library, the load tester and
//! the tests share it.

pub mod analytics;
pub mod back_office;
pub mod checkout;
pub mod codes;
pub mod frame;
pub mod http;
pub mod ids;
pub mod limits;
pub mod merchant;
pub mod messages;
pub mod sharing;
pub mod store;
pub mod support;
pub mod takeover;
#[cfg(test)]
mod typescript;
pub mod webhooks;

pub use codes::{CloseCode, ErrorCode};
pub use frame::{BinaryFrame, FrameError, FrameKind, Record};
pub use ids::{CartId, ConnId, Heads, LineId, OpId, SuggestionId, UserId};
pub use messages::{
    ActivityEvent, Capability, ClientMsg, MemberRole, Op, PresenceEntry, ServerMsg, StreamKind,
    SyncPayload,
};

/// The protocol version spoken by this crate; sent in `hello`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Optional behaviours of protocol v1 that a server states in `hello`
/// (`docs/protocol.md`, "Versions"). A client may rely on one only when the
/// server lists it.
pub const FEATURES: &[&str] = &[
    // Messages on one connection take effect in the order they were sent:
    // an `op` may follow its `subscribe` without waiting for `subscribed`.
    "pipelining",
    // `ack` carries the id of what the op created.
    "created_ids",
    // `chat` carries the `seq` of its activity entry.
    "chat_seq",
    // `presence` carries only the entries that changed.
    "presence_deltas",
    // `subscribe` with heads gets only the missing changes.
    "resync_heads",
    // `carts_changed` tells a user's connections that their carts changed.
    "carts_changed",
    // `subscribe` takes `stream`: `compact` (kind-3 frames) or `view`
    // (JSON view and patches).
    "streams",
];
