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
//! - [`ops`]: one file per op family (lines, suggestions, the cart itself,
//!   checkout).
//! - [`checkout`]: the checkout state in the document (phase, deadline,
//!   budgets, addresses, ...) and the group-buy price of lines.
//! - [`epoch`]: a document restarted from its current state, without
//!   the history.
//! - [`server_op`]: ops the server originates ([`ServerOp`]), never a client.
//! - [`view`]: the JSON view of a document.
//! - [`activity`]: the sentences of the activity feed.

pub mod activity;
pub mod actor;
pub mod apply;
pub mod checkout;
pub mod epoch;
pub mod mirror;
pub mod ops;
pub mod schema;
pub mod server_op;
pub mod view;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_catalog;
#[cfg(test)]
mod tests_checkout;

pub use activity::{activity_text, membership_text};
pub use actor::{Actor, NodeId};
pub use apply::{Applied, LineChange, OpContext, Totals, apply_op, apply_server_op};
pub use mirror::CartMirror;
pub use ops::catalog::stale_lines;
pub use schema::{new_cart_doc, validate_name};
pub use server_op::{ServerOp, server_actor, store_actor};
pub use view::view;
