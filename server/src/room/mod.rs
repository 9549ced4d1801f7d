//! Rooms: one task per loaded cart owns its Automerge document.
//!
//! The room is a sequencer and fan-out for one document. Everything that
//! touches a cart goes through its room's bounded command channel. The room
//! validates and applies an op at once (so the next op sees it), queues the
//! change on the change log, and keeps a queue of work that must wait for
//! earlier commits: acks, broadcasts, new subscribers' documents and reads.
//! That queue completes strictly in order, so nothing is shown to anyone
//! before it is durable, and every subscriber sees changes in commit order.
//!
//! The room knows only its [`RoomEnv`] (change log, catalog, clock, node,
//! limits) and its [`Subscriber`]s; it sends transport-neutral [`Frame`]s,
//! which the WebSocket edge turns into messages. No HTTP, no SQL.
//!
//! # Layout
//! - [`registry`]: [`Rooms`], which finds or starts a room (`DashMap::entry`).
//! - [`command`]: what a room can be asked ([`RoomCmd`]).
//! - [`env`]: what a room may use ([`RoomEnv`], [`RoomLimits`]).
//! - [`lifecycle`]: load, run until idle or stopped, unload.
//! - [`engine`]: the loaded room and how it dispatches commands.
//! - [`ops`]: the op path: policy, apply, commit, ack.
//! - [`pending`]: work waiting for earlier commits, completed in order.
//! - [`subscribers`]: who is in the room, joins and leaves, presence.
//! - [`broadcast`]: what goes to every subscriber: changes as each stream
//!   wants them, presence.
//! - [`sync`]: what a subscriber or a read gets of the document.
//! - [`activity`]: chat and membership notes, the recent feed.
//! - [`checkout`]: server-originated ops, the hold while an order is
//!   placed, members' names for checkout ops.
//! - [`recent_ops`]: op ids remembered for idempotent retries.
//! - [`edits`]: committed edits of quantities, told to an [`EditTap`]
//!   (the support desk's tips).
//! - [`subscriber`], [`frame`]: the seam to connections.

pub mod activity;
pub mod broadcast;
pub mod catalog;
pub mod checkout;
pub mod command;
pub mod edits;
pub mod engine;
pub mod env;
pub mod frame;
pub mod lifecycle;
pub mod ops;
pub mod pending;
pub mod recent_ops;
pub mod registry;
pub mod subscriber;
pub mod subscribers;
pub mod sync;

#[cfg(test)]
mod tests;

pub use command::{BytesKind, OpOrigin, OpReply, RoomCmd};
pub use edits::{CartEdit, EditTap};
pub use env::{RoomEnv, RoomLimits};
pub use frame::Frame;
pub use registry::{Rooms, RoomsClosed};
pub use subscriber::{Subscriber, SubscriberHandle};
