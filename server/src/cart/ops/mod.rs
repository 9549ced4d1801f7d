//! One file per op family. Each function checks what needs the document
//! (lines, stock, caps), writes inside the op's transaction and updates the
//! mirror, and returns the summary of the activity sentence.

pub mod catalog;
pub(super) mod checkout;
mod lines;
mod meta;
mod suggestions;

use cartroom_protocol::{ErrorCode, Op};

use super::apply::OpContext;
use super::mirror::CartMirror;
use super::server_op::ServerOp;
use crate::catalog::Listing;
use crate::refusal::Refusal;

/// The transaction an op writes in.
pub(super) type Tx<'a> = automerge::transaction::Transaction<'a>;

/// What an op did: the summary of its activity sentence, and the id of
/// what it created, if anything.
pub(super) struct Done {
    pub(super) summary: String,
    pub(super) created: Option<String>,
}

impl From<String> for Done {
    fn from(summary: String) -> Self {
        Self {
            summary,
            created: None,
        }
    }
}

/// Applies `op` inside `tx`, updating `cart` to match.
pub(super) fn apply(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    op: &Op,
) -> Result<Done, Refusal> {
    let summary = match op {
        Op::AddLine { sku, quantity } => lines::add_line(tx, cart, ctx, sku, *quantity),
        Op::ChangeQuantity { line_id, delta } => {
            lines::change_quantity(tx, cart, ctx, &line_id.0, *delta)
        }
        Op::SetQuantity { line_id, quantity } => {
            lines::set_quantity(tx, cart, ctx, &line_id.0, *quantity)
        }
        Op::RemoveLine { line_id } => lines::remove_line(tx, cart, &line_id.0),
        Op::SetLineNote { line_id, note } => lines::set_line_note(tx, cart, &line_id.0, note),
        Op::SetCartNote { note } => meta::set_cart_note(tx, note),
        Op::Rename { name } => meta::rename(tx, cart, name),
        Op::Suggest {
            sku,
            quantity,
            note,
        } => return suggestions::suggest(tx, cart, ctx, sku, *quantity, note.as_deref()),
        Op::Vote {
            suggestion_id,
            value,
        } => suggestions::vote(tx, cart, ctx, &suggestion_id.0, *value),
        Op::AcceptSuggestion { suggestion_id } => {
            suggestions::accept(tx, cart, ctx, &suggestion_id.0)
        }
        Op::RejectSuggestion { suggestion_id } => suggestions::reject(tx, cart, &suggestion_id.0),
        Op::WithdrawSuggestion { suggestion_id } => {
            suggestions::withdraw(tx, cart, ctx, &suggestion_id.0)
        }
        Op::Lock
        | Op::Unlock
        | Op::SetDeadline { .. }
        | Op::SetBudget { .. }
        | Op::AssignLine { .. }
        | Op::SetApprovalThreshold { .. }
        | Op::SetApprover { .. }
        | Op::RequestApproval
        | Op::Approve { .. }
        | Op::Reject { .. }
        | Op::SetSplit { .. }
        | Op::AddAddress { .. }
        | Op::RemoveAddress { .. }
        | Op::SetAllocation { .. } => return checkout::apply(tx, cart, ctx, op),
    }?;
    Ok(summary.into())
}

/// Applies an op the server originates inside `tx`.
pub(super) fn apply_server(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    op: &ServerOp,
) -> Result<Done, Refusal> {
    match op {
        ServerOp::FollowProduct { sku, .. } => catalog::follow_product(tx, cart, ctx, sku),
        ServerOp::LockAtDeadline { deadline } => checkout::lock_at_deadline(tx, cart, *deadline),
        ServerOp::RemindOfDeadline { deadline } => {
            checkout::remind_of_deadline(tx, cart, *deadline)
        }
        ServerOp::SyncOrder {
            order_id,
            status,
            total,
            by_name,
        } => checkout::sync_order(tx, cart, order_id, *status, *total, by_name),
        ServerOp::ForgetApprover { user_id, name, .. } => {
            checkout::forget_approver(tx, cart, *user_id, name)
        }
    }
    .map(Done::from)
}

/// The catalog's listing of `sku`, or `unknown_sku`.
fn listing<'a>(ctx: &'a OpContext<'_>, sku: &str) -> Result<&'a Listing, Refusal> {
    ctx.catalog.listing(sku).ok_or_else(|| {
        Refusal::new(
            ErrorCode::UnknownSku,
            format!("no product {sku} in the catalog"),
        )
    })
}
