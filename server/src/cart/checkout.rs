//! A cart's checkout state in its document: the root `checkout` map (phase,
//! deadline, approval, budgets, split plan, addresses, order) and the
//! group-buy price of lines (`docs/protocol.md` section 6). The map is made
//! by the first checkout op; a cart without it is `open` with nothing set.
//!
//! Read once into the mirror ([`CheckoutMirror`]) and read into the JSON
//! view ([`checkout_view`]). What is derived (the unit price a line pays
//! once its group-buy tier is reached, each member's share, what is left of
//! a budget) is never stored: clients derive it the same way.

use std::collections::{BTreeMap, HashMap};

use automerge::{ObjId, ROOT, ReadDoc};
use cartroom_protocol::ErrorCode;
use cartroom_protocol::checkout::{
    Address, AddressView, ApprovalView, BudgetView, CartOrderView, CartPhase, CheckoutView,
    MemberTotal, OrderStatus, SplitPlan,
};
use cartroom_protocol::http::LineView;

use super::actor::Actor;
use super::mirror::CartMirror;
use super::schema::{get_i64, get_string, map_obj};
use crate::money::format_money;
use crate::refusal::Refusal;

/// The unit price a line pays: the tier's price once the cart holds at
/// least its minimum quantity, else the list price.
pub fn unit_price(list_price: i64, tier: Option<(i64, i64)>, quantity: i64) -> i64 {
    match tier {
        Some((min, price)) if quantity >= min => price,
        _ => list_price,
    }
}

/// An int, or `None` when the key is absent.
fn opt_i64<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Result<Option<i64>, Refusal> {
    Ok(doc.get(obj, key)?.and_then(|(v, _)| v.as_i64()))
}

/// A line's group-buy tier `(min_quantity, price)`, when it has one.
pub(super) fn read_tier<R: ReadDoc>(doc: &R, line: &ObjId) -> Result<Option<(i64, i64)>, Refusal> {
    Ok(opt_i64(doc, line, "group_buy_min")?.zip(opt_i64(doc, line, "group_buy_price")?))
}

/// A line's assignee `(user id, name)`, when it was assigned to someone.
pub(super) fn read_assignee<R: ReadDoc>(
    doc: &R,
    line: &ObjId,
) -> Result<Option<(String, String)>, Refusal> {
    let user = get_string(doc, line, "assigned_to")?;
    if user.is_empty() {
        return Ok(None);
    }
    Ok(Some((user, get_string(doc, line, "assigned_to_name")?)))
}

/// A member's spending limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Budget {
    pub(super) amount: i64,
    pub(super) name: String,
}

/// One shipping address and what is shipped to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct AddressMirror {
    pub(super) obj: ObjId,
    pub(super) lines_obj: ObjId,
    pub(super) label: String,
    /// Line id → units.
    pub(super) lines: BTreeMap<String, i64>,
}

/// The checkout state of a cart, as ops are validated against it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckoutMirror {
    /// `root.checkout`, once a checkout op has made it.
    pub(super) obj: Option<ObjId>,
    pub(super) phase: CartPhase,
    pub(super) deadline: Option<i64>,
    pub(super) approval_over: Option<i64>,
    pub(super) budgets_obj: Option<ObjId>,
    /// By user id.
    pub(super) budgets: BTreeMap<String, Budget>,
    pub(super) split: Option<SplitPlan>,
    pub(super) addresses_obj: Option<ObjId>,
    pub(super) addresses: BTreeMap<String, AddressMirror>,
    /// `(order id, status)` once an order was placed.
    pub(super) order: Option<(String, OrderStatus)>,
}

impl CheckoutMirror {
    pub(super) fn load<R: ReadDoc>(doc: &R) -> Result<Self, Refusal> {
        let Some(obj) = map_obj(doc, &ROOT, "checkout")? else {
            return Ok(Self::default());
        };
        let mut mirror = Self {
            phase: read_phase(doc, &obj)?,
            deadline: opt_i64(doc, &obj, "deadline")?,
            approval_over: opt_i64(doc, &obj, "approval_over")?,
            split: read_split(doc, &obj)?,
            ..Self::default()
        };
        if let Some(budgets_obj) = map_obj(doc, &obj, "budgets")? {
            for user in doc.keys(&budgets_obj) {
                let Some(b) = map_obj(doc, &budgets_obj, &user)? else {
                    continue;
                };
                let budget = Budget {
                    amount: get_i64(doc, &b, "amount")?,
                    name: get_string(doc, &b, "name")?,
                };
                mirror.budgets.insert(user, budget);
            }
            mirror.budgets_obj = Some(budgets_obj);
        }
        if let Some(addresses_obj) = map_obj(doc, &obj, "addresses")? {
            for id in doc.keys(&addresses_obj) {
                let Some(a) = map_obj(doc, &addresses_obj, &id)? else {
                    continue;
                };
                let lines_obj = map_obj(doc, &a, "lines")?.ok_or_else(|| {
                    Refusal::new(ErrorCode::Internal, "an address has no lines map")
                })?;
                let mut lines = BTreeMap::new();
                for line in doc.keys(&lines_obj) {
                    lines.insert(line.clone(), get_i64(doc, &lines_obj, &line)?);
                }
                let address = AddressMirror {
                    label: get_string(doc, &a, "label")?,
                    obj: a,
                    lines_obj,
                    lines,
                };
                mirror.addresses.insert(id, address);
            }
            mirror.addresses_obj = Some(addresses_obj);
        }
        if let Some(order) = map_obj(doc, &obj, "order")? {
            let status = OrderStatus::parse(&get_string(doc, &order, "status")?)
                .unwrap_or(OrderStatus::Pending);
            mirror.order = Some((get_string(doc, &order, "id")?, status));
        }
        mirror.obj = Some(obj);
        Ok(mirror)
    }
}

fn read_phase<R: ReadDoc>(doc: &R, checkout: &ObjId) -> Result<CartPhase, Refusal> {
    Ok(CartPhase::parse(&get_string(doc, checkout, "phase")?).unwrap_or_default())
}

/// The split plan is stored as the JSON `set_split` carried.
fn read_split<R: ReadDoc>(doc: &R, checkout: &ObjId) -> Result<Option<SplitPlan>, Refusal> {
    let text = get_string(doc, checkout, "split")?;
    if text.is_empty() {
        return Ok(None);
    }
    Ok(serde_json::from_str(&text).ok())
}

impl CartMirror {
    /// The cart's phase.
    pub fn phase(&self) -> CartPhase {
        self.checkout.phase
    }

    /// When the cart locks by itself, if a deadline is set.
    pub fn deadline(&self) -> Option<i64> {
        self.checkout.deadline
    }

    /// What each member's lines come to (the lines they added or were
    /// assigned), by user id.
    pub(super) fn shares(&self) -> HashMap<&str, i64> {
        let mut shares = HashMap::new();
        for line in self.lines.values() {
            *shares.entry(line.owner()).or_default() += line.line_total();
        }
        shares
    }
}

/// Refuses an edit that takes a member with a budget over it: a member's
/// share may not grow past their budget (it may shrink, or stay over a
/// budget lowered below it). The message says how much was left.
pub(super) fn check_budgets(
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

/// "(Blue Mug: group price $9.50 each)" for each line whose tier was just
/// reached, "(Blue Mug: back to $12.00 each)" for each that fell below it.
pub(super) fn group_buy_notes(before: &CartMirror, after: &CartMirror) -> String {
    let mut notes = String::new();
    let mut skus: Vec<&String> = after.lines.keys().collect();
    skus.sort();
    for sku in skus {
        let line = &after.lines[sku];
        let Some(_) = line.group_buy else { continue };
        let was = before.lines.get(sku).map(|l| l.unit_price());
        let now = line.unit_price();
        let reached = now < line.list_price;
        let changed = match was {
            Some(was) => was != now,
            None => reached,
        };
        if !changed {
            continue;
        }
        let price = format_money(now, &after.currency);
        if reached {
            notes.push_str(&format!(" ({}: group price {price} each)", line.name));
        } else {
            notes.push_str(&format!(" ({}: back to {price} each)", line.name));
        }
    }
    notes
}

/// The checkout part of the JSON view, from the document and its lines
/// (already read, with their unit prices).
pub(super) fn checkout_view<R: ReadDoc>(
    doc: &R,
    lines: &[LineView],
) -> Result<CheckoutView, Refusal> {
    let mut view = CheckoutView {
        members: member_totals(lines),
        ..CheckoutView::default()
    };
    let Some(obj) = map_obj(doc, &ROOT, "checkout")? else {
        return Ok(view);
    };
    view.phase = read_phase(doc, &obj)?;
    view.deadline = opt_i64(doc, &obj, "deadline")?;
    view.approval_over = opt_i64(doc, &obj, "approval_over")?;
    view.split = read_split(doc, &obj)?;
    if let Some(a) = map_obj(doc, &obj, "approval")? {
        view.approval = Some(ApprovalView {
            status: get_string(doc, &a, "status")?,
            by: get_string(doc, &a, "by")?,
            by_name: get_string(doc, &a, "by_name")?,
            comment: get_string(doc, &a, "comment")?,
            at: get_i64(doc, &a, "at")?,
        });
    }
    if let Some(budgets) = map_obj(doc, &obj, "budgets")? {
        for user in doc.keys(&budgets) {
            let Some(b) = map_obj(doc, &budgets, &user)? else {
                continue;
            };
            let amount = get_i64(doc, &b, "amount")?;
            let spent = view
                .members
                .iter()
                .find(|m| m.user_id == user)
                .map_or(0, |m| m.total);
            view.budgets.push(BudgetView {
                name: get_string(doc, &b, "name")?,
                amount,
                spent,
                left: amount - spent,
                user_id: user,
            });
        }
        view.budgets
            .sort_by(|a, b| a.name.cmp(&b.name).then(a.user_id.cmp(&b.user_id)));
    }
    if let Some(addresses) = map_obj(doc, &obj, "addresses")? {
        for id in doc.keys(&addresses) {
            let Some(a) = map_obj(doc, &addresses, &id)? else {
                continue;
            };
            let mut shipped = BTreeMap::new();
            if let Some(lines_obj) = map_obj(doc, &a, "lines")? {
                for line in doc.keys(&lines_obj) {
                    shipped.insert(line.clone(), get_i64(doc, &lines_obj, &line)?);
                }
            }
            view.addresses.push(AddressView {
                address: Address {
                    label: get_string(doc, &a, "label")?,
                    name: get_string(doc, &a, "name")?,
                    line1: get_string(doc, &a, "line1")?,
                    line2: get_string(doc, &a, "line2")?,
                    city: get_string(doc, &a, "city")?,
                    postal_code: get_string(doc, &a, "postal_code")?,
                    country: get_string(doc, &a, "country")?,
                },
                lines: shipped,
                address_id: id,
            });
        }
    }
    view.unassigned = unassigned(lines, &view.addresses);
    if let Some(order) = map_obj(doc, &obj, "order")? {
        view.order = Some(CartOrderView {
            order_id: get_string(doc, &order, "id")?,
            status: OrderStatus::parse(&get_string(doc, &order, "status")?)
                .unwrap_or(OrderStatus::Pending),
            total: get_i64(doc, &order, "total")?,
        });
    }
    Ok(view)
}

/// Each member's lines, by who pays for them, sorted by name.
fn member_totals(lines: &[LineView]) -> Vec<MemberTotal> {
    let mut by_user: BTreeMap<&str, MemberTotal> = BTreeMap::new();
    for line in lines {
        let (user, name) = match (&line.assigned_to, &line.assigned_to_name) {
            (Some(user), Some(name)) => (user.as_str(), name.as_str()),
            _ => (line.added_by.as_str(), line.added_by_name.as_str()),
        };
        by_user
            .entry(user)
            .or_insert_with(|| MemberTotal {
                user_id: user.to_owned(),
                name: name.to_owned(),
                total: 0,
            })
            .total += line.line_total;
    }
    let mut totals: Vec<MemberTotal> = by_user.into_values().collect();
    totals.sort_by(|a, b| a.name.cmp(&b.name).then(a.user_id.cmp(&b.user_id)));
    totals
}

/// Units not shipped anywhere, when the cart has addresses (each line's
/// quantity less what its addresses take, never below zero).
fn unassigned(lines: &[LineView], addresses: &[AddressView]) -> i64 {
    if addresses.is_empty() {
        return 0;
    }
    lines
        .iter()
        .map(|line| {
            let shipped: i64 = addresses
                .iter()
                .filter_map(|a| a.lines.get(&line.line_id))
                .sum();
            (line.quantity - shipped).max(0)
        })
        .sum()
}

/// A time for activity sentences: `2026-11-21 21:10 UTC`.
pub(super) fn utc_minute(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_utc() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_minute(1_795_302_600_000), "2026-11-21 23:10 UTC");
        assert_eq!(utc_minute(951_782_400_000), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn the_tier_price_applies_from_its_minimum() {
        assert_eq!(unit_price(1200, Some((10, 950)), 9), 1200);
        assert_eq!(unit_price(1200, Some((10, 950)), 10), 950);
        assert_eq!(unit_price(1200, None, 100), 1200);
    }
}
