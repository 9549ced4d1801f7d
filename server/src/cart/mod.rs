//! The cart document, pure: no I/O, no clock, no sockets.
//!
//! The room calls [`apply_op`] with an [`OpContext`] (who, which op id, the
//! catalog version, the time) and gets back one Automerge change, or a
//! [`Refusal`](crate::refusal::Refusal) that changed nothing. Validation
//! reads a [`CartMirror`] kept in step with the document, not the document
//! itself (see `mirror.rs` for why). The schema is documented in
//! `docs/protocol.md` section 6.
//!
//! # Layout
//! - [`actor`]: who makes a change, and its Automerge actor id.
//! - [`schema`]: the document's shape: a new cart, typed readers, change messages.
//! - [`mirror`]: what ops are validated against.
//! - [`apply`]: checks an op's fields and applies it in one transaction.
//! - [`ops`]: one file per op family (lines, suggestions, the cart itself).
//! - [`view`]: the JSON view of a document.
//! - [`activity`]: the sentences of the activity feed.

pub mod activity;
pub mod actor;
pub mod apply;
pub mod mirror;
pub mod ops;
pub mod schema;
pub mod view;

#[cfg(test)]
mod tests;

pub use activity::{activity_text, membership_text};
pub use actor::{Actor, NodeId};
pub use apply::{Applied, OpContext, Totals, apply_op};
pub use mirror::CartMirror;
pub use schema::{new_cart_doc, validate_name};
pub use view::view;
