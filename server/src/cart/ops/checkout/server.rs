//! The server's own ops on a cart: the deadline's lock, the reminder
//! before it, an order's status (placed: `ordered`; cancelled: `open`
//! again), and forgetting an approver who is no longer a member. Clients
//! cannot send them; the room applies them under the server's actor, and
//! `ops::apply_server` dispatches them here.

use automerge::ObjType;
use automerge::transaction::Transactable;
use cartroom_protocol::UserId;
use cartroom_protocol::checkout::{CartPhase, OrderStatus};

use super::super::Tx;
use super::{checkout_obj, set_phase};
use crate::cart::checkout::utc_minute;
use crate::cart::mirror::CartMirror;
use crate::cart::server_op::short_id;
use crate::money::format_money;
use crate::refusal::Refusal;

/// The deadline set for the cart has come: lock it (nothing when it was
/// moved or cleared meanwhile).
pub(in crate::cart) fn lock_at_deadline(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    deadline: i64,
) -> Result<String, Refusal> {
    if cart.checkout.deadline != Some(deadline) {
        // Moved or cleared meanwhile: this deadline is gone.
        return Ok("found no deadline to keep".into());
    }
    let obj = checkout_obj(tx, cart)?;
    tx.delete(&obj, "deadline")?;
    cart.checkout.deadline = None;
    if cart.checkout.phase != CartPhase::Open {
        return Ok("cleared the deadline of a cart no longer open".into());
    }
    set_phase(tx, cart, CartPhase::Locked)?;
    Ok(format!(
        "locked the cart for checkout: the deadline ({}) passed",
        utc_minute(deadline)
    ))
}

/// The deadline is near: tell the members, once.
pub(in crate::cart) fn remind_of_deadline(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    deadline: i64,
) -> Result<String, Refusal> {
    if cart.checkout.deadline != Some(deadline)
        || cart.checkout.phase != CartPhase::Open
        || cart.checkout.reminded == Some(deadline)
    {
        // Moved, cleared, locked or reminded of already: no change.
        return Ok("found no deadline to remind of".into());
    }
    let obj = checkout_obj(tx, cart)?;
    tx.put(&obj, "reminded", deadline)?;
    cart.checkout.reminded = Some(deadline);
    Ok(format!(
        "reminded everyone: the cart locks for checkout at {}",
        utc_minute(deadline)
    ))
}

/// An order of the cart was placed or changed status; the cart follows.
pub(in crate::cart) fn sync_order(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    order_id: &str,
    status: OrderStatus,
    total: i64,
    by_name: &str,
) -> Result<String, Refusal> {
    if cart.checkout.order.as_ref() == Some(&(order_id.to_owned(), status)) {
        // Told twice (a sweep after a restart): nothing to change.
        return Ok(format!("found order {} up to date", short_id(order_id)));
    }
    let obj = checkout_obj(tx, cart)?;
    let order = tx.put_object(&obj, "order", ObjType::Map)?;
    tx.put(&order, "id", order_id)?;
    tx.put(&order, "status", status.as_str())?;
    tx.put(&order, "total", total)?;
    cart.checkout.order = Some((order_id.to_owned(), status));
    let short = short_id(order_id);
    let money = format_money(total, &cart.currency);
    Ok(match status {
        OrderStatus::Pending => {
            set_phase(tx, cart, CartPhase::Ordered)?;
            format!("took {by_name}'s order {short} for {money}; the cart is read-only")
        }
        OrderStatus::Confirmed => format!("marked order {short} confirmed ({by_name})"),
        OrderStatus::Fulfilled => format!("marked order {short} fulfilled ({by_name})"),
        OrderStatus::Cancelled => {
            set_phase(tx, cart, CartPhase::Open)?;
            tx.delete(&obj, "approval")?;
            format!("cancelled order {short} ({by_name}); the cart is open again")
        }
    })
}

/// The named approver is no longer a member: clear the name.
pub(in crate::cart) fn forget_approver(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    user_id: UserId,
    name: &str,
) -> Result<String, Refusal> {
    if !cart.is_named_approver(user_id) {
        return Ok("found no approver to forget".into());
    }
    let obj = checkout_obj(tx, cart)?;
    tx.delete(&obj, "approver")?;
    tx.delete(&obj, "approver_name")?;
    cart.checkout.approver = None;
    Ok(format!(
        "cleared the approver: {name} is no longer a member; admins approve"
    ))
}
