//! What leaves the server for other systems, never on the ack path of an
//! edit: each integration reads an outbox that the transaction of what
//! caused it wrote, and works from its own task.
//!
//! # Layout
//! - [`webhooks`]: signed HTTP POSTs of store events to the endpoints a
//!   store's owner registers, retried with back-off, with a delivery log.

pub mod webhooks;
