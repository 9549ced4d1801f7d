//! The budget check every op passes, whoever sends it.

use cartroom_protocol::ErrorCode;

use crate::cart::actor::Actor;
use crate::cart::mirror::CartMirror;
use crate::money::format_money;
use crate::refusal::Refusal;

/// Refuses an edit that takes a member with a budget over it: a member's
/// share may not grow past their budget (it may shrink, or stay over a
/// budget lowered below it). The message says how much was left.
pub(in crate::cart) fn check_budgets(
    before: &CartMirror,
    after: &CartMirror,
    actor: &Actor,
) -> Result<(), Refusal> {
    if after.checkout.budgets.is_empty() {
        return Ok(());
    }
    let (was, now) = (before.shares(), after.shares());
    for (user, budget) in &after.checkout.budgets {
        let old = was.get(user.as_str()).copied().unwrap_or(0);
        let new = now.get(user.as_str()).copied().unwrap_or(0);
        if new <= budget.amount || new <= old {
            continue;
        }
        let currency = &after.currency;
        let left = format_money((budget.amount - old).max(0), currency);
        let amount = format_money(budget.amount, currency);
        let total = format_money(new, currency);
        let whose = if *user == actor.user_id.to_string() {
            "your".to_owned()
        } else {
            format!("{}'s", budget.name)
        };
        return Err(Refusal::new(
            ErrorCode::OverBudget,
            format!("over {whose} budget: {left} left of {amount} (this would make {total})"),
        ));
    }
    Ok(())
}
