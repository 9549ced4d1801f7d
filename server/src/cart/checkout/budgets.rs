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

/// A member whose share went past their budget with one change (a budget
/// set below the share, a price that rose): what the `budget.exceeded`
/// webhook tells the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overrun {
    pub user_id: String,
    pub name: String,
    pub budget: i64,
    pub share: i64,
}

/// The members over budget after the change who were not before it.
pub(in crate::cart) fn newly_over_budget(before: &CartMirror, after: &CartMirror) -> Vec<Overrun> {
    if after.checkout.budgets.is_empty() {
        return Vec::new();
    }
    let (was, now) = (before.shares(), after.shares());
    let over = |mirror: &CartMirror, shares: &std::collections::HashMap<&str, i64>, user: &str| {
        mirror
            .checkout
            .budgets
            .get(user)
            .is_some_and(|b| shares.get(user).copied().unwrap_or(0) > b.amount)
    };
    after
        .checkout
        .budgets
        .iter()
        .filter(|(user, _)| over(after, &now, user) && !over(before, &was, user))
        .map(|(user, budget)| Overrun {
            user_id: user.clone(),
            name: budget.name.clone(),
            budget: budget.amount,
            share: now.get(user.as_str()).copied().unwrap_or(0),
        })
        .collect()
}
