//! Lock, unlock and the deadline: the ops that move a cart between `open`
//! and `locked` (approval's phases are in `approval.rs`).

use automerge::transaction::Transactable;
use cartroom_protocol::ErrorCode;
use cartroom_protocol::checkout::CartPhase;

use super::super::Tx;
use super::{checkout_obj, set_phase};
use crate::cart::apply::OpContext;
use crate::cart::checkout::utc_minute;
use crate::cart::mirror::CartMirror;
use crate::refusal::Refusal;

/// How far ahead a deadline may be set: a year.
const MAX_DEADLINE_AHEAD_MS: i64 = 366 * 86_400_000;

pub(super) fn lock(tx: &mut Tx<'_>, cart: &mut CartMirror) -> Result<String, Refusal> {
    set_phase(tx, cart, CartPhase::Locked)?;
    // A lock by hand stands for the deadline: it will not lock again later.
    if cart.checkout.deadline.take().is_some() {
        let obj = checkout_obj(tx, cart)?;
        tx.delete(&obj, "deadline")?;
    }
    Ok("locked the cart for checkout".into())
}

pub(super) fn unlock(tx: &mut Tx<'_>, cart: &mut CartMirror) -> Result<String, Refusal> {
    set_phase(tx, cart, CartPhase::Open)?;
    // An approval was for the cart as it was; after changes it is asked again.
    let obj = checkout_obj(tx, cart)?;
    tx.delete(&obj, "approval")?;
    Ok("unlocked the cart".into())
}

pub(super) fn set_deadline(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    at: Option<i64>,
) -> Result<String, Refusal> {
    let obj = checkout_obj(tx, cart)?;
    let Some(at) = at else {
        if cart.checkout.deadline.take().is_some() {
            tx.delete(&obj, "deadline")?;
        }
        return Ok("cleared the checkout deadline".into());
    };
    if at <= ctx.now_ms || at > ctx.now_ms + MAX_DEADLINE_AHEAD_MS {
        return Err(Refusal::new(
            ErrorCode::InvalidField,
            "a deadline is in the future, at most 366 days ahead",
        ));
    }
    tx.put(&obj, "deadline", at)?;
    cart.checkout.deadline = Some(at);
    Ok(format!("set the checkout deadline to {}", utc_minute(at)))
}
