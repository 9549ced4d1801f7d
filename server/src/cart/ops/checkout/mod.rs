//! Checkout ops: lock and unlock, the deadline, budgets, who pays for a
//! line, approvals, the split plan, addresses and what is shipped to each;
//! and the server's own ops (the deadline's lock, an order's status).
//!
//! Everything lives under the root `checkout` map, made by the first of
//! these ops. Which phase takes which op is the policy's rule
//! ([`crate::policy::check_phase`]), checked before any of this runs.
//!
//! ## Layout
//! - [`phase`]: lock, unlock, the deadline;
//! - [`budgets`]: spending limits, and who pays for a line;
//! - [`approval`]: the threshold, and asking, approving, rejecting;
//! - [`split`]: the split plan;
//! - [`addresses`]: addresses and what ships to each;
//! - [`server`]: the server's own ops (deadline lock and reminder, orders);
//! - this file: the dispatch, and the `checkout` map they all write under.

mod addresses;
mod approval;
mod budgets;
mod phase;
mod server;
mod split;

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ROOT};
use cartroom_protocol::checkout::CartPhase;
use cartroom_protocol::{ErrorCode, Op, UserId};

pub(in crate::cart) use self::addresses::forget_allocations;
pub(crate) use self::addresses::validate_address;
use self::addresses::{add_address, remove_address, set_allocation};
use self::approval::{decide, set_approval_threshold, set_approver};
use self::budgets::{assign_line, set_budget};
use self::phase::{lock, set_deadline, unlock};
pub(in crate::cart) use self::server::{
    forget_approver, lock_at_deadline, remind_of_deadline, sync_order,
};
use self::split::set_split;
pub(crate) use self::split::validate_plan;
use super::{Done, Tx};
use crate::cart::apply::OpContext;
use crate::cart::mirror::CartMirror;
use crate::refusal::Refusal;

pub(super) fn apply(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    op: &Op,
) -> Result<Done, Refusal> {
    let summary = match op {
        Op::Lock => lock(tx, cart),
        Op::Unlock => unlock(tx, cart),
        Op::SetDeadline { at } => set_deadline(tx, cart, ctx, *at),
        Op::SetBudget { user_id, amount } => set_budget(tx, cart, ctx, *user_id, *amount),
        Op::AssignLine { line_id, user_id } => assign_line(tx, cart, ctx, &line_id.0, *user_id),
        Op::SetApprovalThreshold { amount } => set_approval_threshold(tx, cart, *amount),
        Op::SetApprover { user_id } => set_approver(tx, cart, ctx, *user_id),
        Op::RequestApproval => decide(tx, cart, ctx, CartPhase::PendingApproval, "requested", ""),
        Op::Approve { comment } => decide(
            tx,
            cart,
            ctx,
            CartPhase::Approved,
            "approved",
            comment.as_deref().unwrap_or(""),
        ),
        Op::Reject { comment } => decide(tx, cart, ctx, CartPhase::Open, "rejected", comment),
        Op::SetSplit { plan } => set_split(tx, cart, ctx, plan),
        Op::AddAddress { address } => return add_address(tx, cart, ctx, address),
        Op::RemoveAddress { address_id } => remove_address(tx, cart, address_id),
        Op::SetAllocation {
            address_id,
            line_id,
            quantity,
        } => set_allocation(tx, cart, address_id, &line_id.0, *quantity),
        other => Err(Refusal::new(
            ErrorCode::Internal,
            format!("{} is not a checkout op", other.kind()),
        )),
    }?;
    Ok(summary.into())
}

/// `root.checkout`, made (phase `open`) by the first checkout op.
fn checkout_obj(tx: &mut Tx<'_>, cart: &mut CartMirror) -> Result<ObjId, Refusal> {
    if let Some(obj) = &cart.checkout.obj {
        return Ok(obj.clone());
    }
    let obj = tx.put_object(ROOT, "checkout", ObjType::Map)?;
    tx.put(&obj, "phase", CartPhase::Open.as_str())?;
    cart.checkout.obj = Some(obj.clone());
    Ok(obj)
}

/// A map under `root.checkout`, made when first needed.
fn checkout_map(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    key: &str,
    which: fn(&mut CartMirror) -> &mut Option<ObjId>,
) -> Result<ObjId, Refusal> {
    if let Some(obj) = which(cart) {
        return Ok(obj.clone());
    }
    let parent = checkout_obj(tx, cart)?;
    let obj = tx.put_object(&parent, key, ObjType::Map)?;
    *which(cart) = Some(obj.clone());
    Ok(obj)
}

fn set_phase(tx: &mut Tx<'_>, cart: &mut CartMirror, phase: CartPhase) -> Result<(), Refusal> {
    let obj = checkout_obj(tx, cart)?;
    tx.put(&obj, "phase", phase.as_str())?;
    cart.checkout.phase = phase;
    Ok(())
}

/// The name of a member, or `user_not_found`.
fn member_name(ctx: &OpContext<'_>, user: UserId) -> Result<String, Refusal> {
    ctx.members.get(&user).cloned().ok_or_else(|| {
        Refusal::new(
            ErrorCode::UserNotFound,
            format!("{user} is not a member of this cart"),
        )
    })
}
