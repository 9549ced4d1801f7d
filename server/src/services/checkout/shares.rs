//! The quote's shares: the cart's split plan applied to its total
//! (`crate::checkout::split`, with its remainder rule), once the payers
//! are known to be members and every line has a known owner.

use std::collections::{BTreeMap, HashMap};

use cartroom_protocol::UserId;
use cartroom_protocol::checkout::{QuoteLine, ShareView, SplitPlan};

use crate::checkout::{SplitInput, split};

/// Splits `subtotal + shipping` by `plan`; `Err` is the `split_invalid`
/// message.
pub(super) fn shares(
    plan: &SplitPlan,
    lines: &[QuoteLine],
    subtotal: i64,
    shipping: i64,
    names: &HashMap<UserId, String>,
) -> Result<Vec<ShareView>, String> {
    let mut owned: BTreeMap<UserId, i64> = BTreeMap::new();
    let mut owner_names: HashMap<UserId, String> = HashMap::new();
    let mut stray = false;
    for line in lines {
        match line.owner.parse::<UserId>() {
            Ok(user) => {
                *owned.entry(user).or_default() += line.line_total;
                owner_names.insert(user, line.owner_name.clone());
            }
            Err(_) => stray = true,
        }
    }
    let payers: Vec<UserId> = match plan {
        SplitPlan::OnePayer { payer } => vec![*payer],
        SplitPlan::Even { payers } => payers.clone(),
        SplitPlan::ByItem => owned.keys().copied().collect(),
        SplitPlan::Custom { amounts, rest } => amounts.keys().copied().chain([*rest]).collect(),
    };
    let gone: Vec<String> = payers
        .iter()
        .filter(|p| !names.contains_key(p))
        .map(|p| owner_names.get(p).cloned().unwrap_or_else(|| p.to_string()))
        .collect();
    if stray {
        return Err("a line was added by no known member".into());
    }
    if !gone.is_empty() {
        return Err(format!(
            "not members of the cart any more: {}",
            gone.join(", ")
        ));
    }
    let input = SplitInput {
        subtotal,
        shipping,
        owned,
    };
    let parts = split(plan, &input).map_err(|e| e.to_string())?;
    Ok(parts
        .into_iter()
        .map(|(user_id, amount)| ShareView {
            name: names
                .get(&user_id)
                .or_else(|| owner_names.get(&user_id))
                .cloned()
                .unwrap_or_default(),
            user_id,
            amount,
        })
        .collect())
}
