//! The room's promises, on rooms over the memory store with no sockets.
//!
//! The harness ([`harness`]) builds a real [`Rooms`](super::Rooms) registry
//! on a [`MemoryStore`](crate::store::memory::MemoryStore) whose commit gate
//! the tests hold, release one write at a time, or make fail; recording
//! subscribers stand where connections would. Tests wait on frames and
//! answers, never on time, and `settle` tells when a room has handled every
//! command sent before.
//!
//! # Layout
//! - [`harness`]: the registry over the memory store, helpers.
//! - [`client`]: the recording subscriber and the test's handle on it.
//! - [`delivery`]: nothing before its commit; commit order is delivery order.
//! - [`failures`]: a failed commit refuses, unloads, and hides the change.
//! - [`retries`]: an op id is applied once, across reloads too.
//! - [`reads`]: reads wait for the commits queued before them.
//! - [`membership`]: who is in the room: slow consumers, late leavers.
//! - [`idle`]: idle unload against a late subscriber.
//! - [`approver`]: the named approver approves until removed.
//! - [`edits`]: the edit tap hears committed quantity changes, in order.
//! - [`streams`]: each subscription gets changes as its stream asks
//!   (`changes`, `compact`, `view`); epochs reach the replicas only.

mod approver;
mod client;
mod delivery;
mod edits;
mod failures;
mod harness;
mod idle;
mod membership;
mod reads;
mod retries;
mod streams;
