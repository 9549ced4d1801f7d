//! Approval: the cart's threshold, the named approver, and an admin's
//! request, an approval or rejection (with a comment, by an admin or the
//! named approver), kept in the `approval` map.

use automerge::ObjType;
use automerge::transaction::Transactable;
use cartroom_protocol::UserId;
use cartroom_protocol::checkout::CartPhase;

use super::super::Tx;
use super::{checkout_obj, member_name, set_phase};
use crate::cart::apply::OpContext;
use crate::cart::mirror::CartMirror;
use crate::money::format_money;
use crate::refusal::Refusal;

pub(super) fn set_approval_threshold(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    amount: Option<i64>,
) -> Result<String, Refusal> {
    let obj = checkout_obj(tx, cart)?;
    match amount {
        Some(amount) => {
            tx.put(&obj, "approval_over", amount)?;
            cart.checkout.approval_over = Some(amount);
            Ok(format!(
                "required approval for orders over {}",
                format_money(amount, &cart.currency)
            ))
        }
        None => {
            if cart.checkout.approval_over.take().is_some() {
                tx.delete(&obj, "approval_over")?;
            }
            Ok("removed the cart's approval threshold".into())
        }
    }
}

/// Names the member who may approve or reject besides the admins, or
/// clears the name (admins only, then).
pub(super) fn set_approver(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    user: Option<UserId>,
) -> Result<String, Refusal> {
    let obj = checkout_obj(tx, cart)?;
    match user {
        Some(user) => {
            let name = member_name(ctx, user)?;
            tx.put(&obj, "approver", user.to_string())?;
            tx.put(&obj, "approver_name", name.as_str())?;
            cart.checkout.approver = Some(user.to_string());
            Ok(format!("named {name} the approver of the order"))
        }
        None => {
            if cart.checkout.approver.take().is_some() {
                tx.delete(&obj, "approver")?;
                tx.delete(&obj, "approver_name")?;
            }
            Ok("cleared the named approver; admins approve".into())
        }
    }
}

/// An approval request or decision: the new phase and the `approval` map.
pub(super) fn decide(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    phase: CartPhase,
    status: &str,
    comment: &str,
) -> Result<String, Refusal> {
    set_phase(tx, cart, phase)?;
    let obj = checkout_obj(tx, cart)?;
    let approval = tx.put_object(&obj, "approval", ObjType::Map)?;
    tx.put(&approval, "status", status)?;
    tx.put(&approval, "by", ctx.actor.user_id.to_string())?;
    tx.put(&approval, "by_name", ctx.actor.name.as_str())?;
    tx.put(&approval, "comment", comment.trim())?;
    tx.put(&approval, "at", ctx.now_ms)?;
    let said = if comment.trim().is_empty() {
        String::new()
    } else {
        format!(": \"{}\"", comment.trim())
    };
    Ok(match phase {
        CartPhase::PendingApproval => "asked for approval of the order".into(),
        CartPhase::Approved => format!("approved the order{said}"),
        _ => format!("rejected the order{said}; the cart is open again"),
    })
}
