//! The split plan: stored as JSON in `checkout.split`; the shares are the
//! server's to compute (`crate::checkout::split`), never stored.

use automerge::transaction::Transactable;
use cartroom_protocol::checkout::SplitPlan;
use cartroom_protocol::{ErrorCode, UserId};

use super::super::Tx;
use super::{checkout_obj, member_name};
use crate::cart::apply::{OpContext, check_money};
use crate::cart::mirror::CartMirror;
use crate::refusal::Refusal;

/// Payers one split plan may name.
const MAX_PAYERS: usize = 100;

pub(super) fn set_split(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    plan: &SplitPlan,
) -> Result<String, Refusal> {
    let names = |users: &mut dyn Iterator<Item = UserId>| -> Result<Vec<String>, Refusal> {
        users.map(|u| member_name(ctx, u)).collect()
    };
    let summary = match plan {
        SplitPlan::OnePayer { payer } => {
            format!("chose one payer: {}", member_name(ctx, *payer)?)
        }
        SplitPlan::Even { payers } => {
            let mut distinct = payers.clone();
            distinct.sort();
            distinct.dedup();
            let names = names(&mut distinct.into_iter())?;
            format!("chose to split evenly among {}", names.join(", "))
        }
        SplitPlan::ByItem => "chose to split by item".into(),
        SplitPlan::Custom { amounts, rest } => {
            names(&mut amounts.keys().copied())?;
            format!(
                "chose custom shares; {} pays the rest",
                member_name(ctx, *rest)?
            )
        }
    };
    let obj = checkout_obj(tx, cart)?;
    let json = serde_json::to_string(plan)
        .map_err(|e| Refusal::new(ErrorCode::Internal, e.to_string()))?;
    tx.put(&obj, "split", json)?;
    cart.checkout.split = Some(plan.clone());
    Ok(summary)
}

/// The bounds of a split plan that need no document.
pub(crate) fn validate_plan(plan: &SplitPlan) -> Result<(), Refusal> {
    match plan {
        SplitPlan::Even { payers } if payers.is_empty() || payers.len() > MAX_PAYERS => {
            Err(Refusal::new(
                ErrorCode::InvalidField,
                format!("an even split has 1 to {MAX_PAYERS} payers"),
            ))
        }
        SplitPlan::Custom { amounts, .. } if amounts.len() > MAX_PAYERS => Err(Refusal::new(
            ErrorCode::InvalidField,
            format!("custom shares name at most {MAX_PAYERS} payers"),
        )),
        SplitPlan::Custom { amounts, .. } => {
            amounts.values().try_for_each(|amount| check_money(*amount))
        }
        _ => Ok(()),
    }
}
