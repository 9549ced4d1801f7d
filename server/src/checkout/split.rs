//! Splitting a total among payers, in integer minor units, so that the
//! shares always add up to the total exactly (`docs/protocol.md` section 12,
//! "Splitting").
//!
//! The remainder rule: whatever cannot be divided evenly is handed out one
//! minor unit at a time, first to the payers with the largest fractional
//! part, ties broken by user id (byte order of its text form). For an even
//! split every fractional part is equal, so the first payers by user id pay
//! one cent more.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use cartroom_protocol::UserId;
use cartroom_protocol::checkout::SplitPlan;

/// What a total is split from.
#[derive(Clone, Debug)]
pub struct SplitInput {
    /// The lines' total.
    pub subtotal: i64,
    /// Shipping, all addresses together.
    pub shipping: i64,
    /// What each member's own lines come to (by item), zero or more each.
    pub owned: BTreeMap<UserId, i64>,
}

impl SplitInput {
    pub fn total(&self) -> i64 {
        self.subtotal + self.shipping
    }
}

/// Why a plan does not fit the total.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("an even split needs at least one payer")]
    NoPayers,
    #[error("a split by item needs lines to split")]
    NothingOwned,
    #[error("custom amounts are never negative")]
    NegativeAmount,
    #[error("the custom amounts come to {sum}, over the total of {total}")]
    OverTotal { sum: i64, total: i64 },
}

/// Each payer's share, sorted by user id; the shares add up to the total.
pub fn split(plan: &SplitPlan, input: &SplitInput) -> Result<Vec<(UserId, i64)>, SplitError> {
    let total = input.total();
    let mut shares: BTreeMap<UserId, i64> = BTreeMap::new();
    match plan {
        SplitPlan::OnePayer { payer } => {
            shares.insert(*payer, total);
        }
        SplitPlan::Even { payers } => {
            let weights: BTreeMap<UserId, i64> = payers.iter().map(|p| (*p, 1)).collect();
            if weights.is_empty() {
                return Err(SplitError::NoPayers);
            }
            shares = apportion(total, &weights);
        }
        SplitPlan::ByItem => {
            let owned: BTreeMap<UserId, i64> = input
                .owned
                .iter()
                .filter(|(_, amount)| **amount > 0)
                .map(|(u, a)| (*u, *a))
                .collect();
            if owned.is_empty() {
                return Err(SplitError::NothingOwned);
            }
            let shipping = apportion(input.shipping, &owned);
            for (user, own) in owned {
                shares.insert(user, own + shipping.get(&user).copied().unwrap_or(0));
            }
            // Lines owned by nobody in `owned` cannot exist, but a
            // subtotal that differs from the owned amounts would break
            // the sum: give any difference to the first payer.
            let sum: i64 = shares.values().sum();
            if let Some(first) = shares.values_mut().next() {
                *first += total - sum;
            }
        }
        SplitPlan::Custom { amounts, rest } => {
            let mut sum = 0;
            for (user, amount) in amounts.iter().filter(|(u, _)| *u != rest) {
                if *amount < 0 {
                    return Err(SplitError::NegativeAmount);
                }
                sum += amount;
                *shares.entry(*user).or_default() += amount;
            }
            if sum > total {
                return Err(SplitError::OverTotal { sum, total });
            }
            shares.insert(*rest, total - sum);
        }
    }
    Ok(shares.into_iter().collect())
}

/// Splits `amount` in proportion to `weights` (all positive), largest
/// remainder first, ties by user id: the parts add up to `amount`.
fn apportion(amount: i64, weights: &BTreeMap<UserId, i64>) -> BTreeMap<UserId, i64> {
    let whole: i128 = weights.values().map(|w| i128::from(*w)).sum();
    let mut parts = BTreeMap::new();
    if whole == 0 {
        return parts;
    }
    let mut remainders = Vec::with_capacity(weights.len());
    let mut given: i64 = 0;
    for (user, weight) in weights {
        let exact = i128::from(amount) * i128::from(*weight);
        let part = (exact / whole) as i64;
        given += part;
        parts.insert(*user, part);
        remainders.push((exact % whole, *user));
    }
    // Largest remainder first; `sort_by_key` is stable and users come in
    // id order, so ties go to the smaller user id.
    remainders.sort_by_key(|(remainder, _)| Reverse(*remainder));
    for (_, user) in remainders.into_iter().take((amount - given) as usize) {
        *parts.entry(user).or_default() += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use uuid::Uuid;

    use super::*;

    fn user(n: u8) -> UserId {
        UserId(Uuid::from_bytes([n; 16]))
    }

    fn input(subtotal: i64, shipping: i64, owned: &[(u8, i64)]) -> SplitInput {
        SplitInput {
            subtotal,
            shipping,
            owned: owned.iter().map(|(u, a)| (user(*u), *a)).collect(),
        }
    }

    #[test]
    fn the_first_payers_by_id_pay_the_remainder_cent() {
        let plan = SplitPlan::Even {
            payers: vec![user(3), user(1), user(2)],
        };
        let shares = split(&plan, &input(1000, 0, &[])).unwrap();
        assert_eq!(shares, [(user(1), 334), (user(2), 333), (user(3), 333)]);
    }

    #[test]
    fn by_item_shares_shipping_in_proportion() {
        // Ana has $30.00 of lines, Ben $10.00; shipping $4.99.
        let shares = split(
            &SplitPlan::ByItem,
            &input(4000, 499, &[(1, 3000), (2, 1000)]),
        )
        .unwrap();
        // 499 * 3/4 = 374.25, 499 * 1/4 = 124.75: Ben has the larger
        // remainder and gets the cent left over.
        assert_eq!(shares, [(user(1), 3374), (user(2), 1125)]);
    }

    #[test]
    fn custom_amounts_leave_the_rest_to_one_payer() {
        let plan = SplitPlan::Custom {
            amounts: [(user(2), 1500)].into(),
            rest: user(1),
        };
        assert_eq!(
            split(&plan, &input(4000, 0, &[])).unwrap(),
            [(user(1), 2500), (user(2), 1500)]
        );
        let over = SplitPlan::Custom {
            amounts: [(user(2), 5000)].into(),
            rest: user(1),
        };
        assert_eq!(
            split(&over, &input(4000, 0, &[])),
            Err(SplitError::OverTotal {
                sum: 5000,
                total: 4000
            })
        );
    }

    fn plan_and_input() -> impl Strategy<Value = (SplitPlan, SplitInput)> {
        let owned = proptest::collection::btree_map(0u8..8, 0i64..200_000, 1..6);
        (
            owned,
            0i64..5_000,
            0u8..4,
            proptest::collection::vec(0u8..8, 1..8),
        )
            .prop_flat_map(|(owned, shipping, kind, payers)| {
                let owned: BTreeMap<UserId, i64> =
                    owned.into_iter().map(|(u, a)| (user(u), a)).collect();
                let subtotal: i64 = owned.values().sum();
                let total = subtotal + shipping;
                let users: Vec<UserId> = payers.iter().map(|p| user(*p)).collect();
                let input = SplitInput {
                    subtotal,
                    shipping,
                    owned,
                };
                let custom = proptest::collection::vec(0..=total.max(1), users.len())
                    .prop_map(move |amounts| (users.clone(), amounts));
                (Just(input), Just(kind), Just(payers), custom)
            })
            .prop_map(|(input, kind, payers, (users, amounts))| {
                let plan = match kind {
                    0 => SplitPlan::OnePayer {
                        payer: user(payers[0]),
                    },
                    1 => SplitPlan::Even {
                        payers: payers.iter().map(|p| user(*p)).collect(),
                    },
                    2 => SplitPlan::ByItem,
                    _ => {
                        // Scale the amounts down so that they usually fit.
                        let n = users.len() as i64;
                        SplitPlan::Custom {
                            amounts: users
                                .iter()
                                .zip(amounts)
                                .skip(1)
                                .map(|(u, a)| (*u, a / n))
                                .collect(),
                            rest: users[0],
                        }
                    }
                };
                (plan, input)
            })
    }

    proptest! {
        #[test]
        fn shares_add_up_to_the_total_and_follow_the_plan((plan, input) in plan_and_input()) {
            let total = input.total();
            let shares = match split(&plan, &input) {
                Ok(shares) => shares,
                Err(SplitError::NothingOwned) => {
                    prop_assert!(input.owned.values().all(|a| *a == 0));
                    return Ok(());
                }
                Err(SplitError::OverTotal { sum, total: t }) => {
                    prop_assert!(sum > t);
                    return Ok(());
                }
                Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
            };
            prop_assert_eq!(shares.iter().map(|(_, a)| a).sum::<i64>(), total);
            prop_assert!(shares.iter().all(|(_, a)| *a >= 0));
            prop_assert!(shares.windows(2).all(|w| w[0].0 < w[1].0), "sorted by user id, once each");
            match &plan {
                SplitPlan::OnePayer { payer } => prop_assert_eq!(&shares, &vec![(*payer, total)]),
                SplitPlan::Even { payers } => {
                    let mut distinct = payers.clone();
                    distinct.sort();
                    distinct.dedup();
                    prop_assert_eq!(shares.len(), distinct.len());
                    let low = total / distinct.len() as i64;
                    let extra = (total % distinct.len() as i64) as usize;
                    for (i, (_, amount)) in shares.iter().enumerate() {
                        prop_assert_eq!(*amount, if i < extra { low + 1 } else { low });
                    }
                }
                SplitPlan::ByItem => {
                    let subtotal = input.subtotal;
                    for (user, amount) in &shares {
                        let own = input.owned[user];
                        prop_assert!(own > 0);
                        // Own lines, plus shipping in proportion, within a cent.
                        let exact = input.shipping as f64 * own as f64 / subtotal as f64;
                        let part = (amount - own) as f64;
                        prop_assert!(part >= exact.floor() && part <= exact.floor() + 1.0,
                            "{user}: {part} of shipping for {own} of {subtotal}");
                    }
                }
                SplitPlan::Custom { amounts, rest } => {
                    for (user, amount) in &shares {
                        if user != rest {
                            prop_assert_eq!(*amount, amounts[user]);
                        }
                    }
                    prop_assert!(shares.iter().any(|(u, _)| u == rest));
                }
            }
        }
    }
}
