//! The `checkout` map read into the JSON view, with what is derived:
//! each member's running total, what is left of each budget, and the
//! units shipped to no address.

use std::collections::BTreeMap;

use automerge::{ROOT, ReadDoc};
use cartroom_protocol::checkout::{
    Address, AddressView, ApprovalView, BudgetView, CartOrderView, CheckoutView, MemberTotal,
    OrderStatus,
};
use cartroom_protocol::http::LineView;

use super::mirror::{read_phase, read_split};
use super::opt_i64;
use crate::cart::schema::{get_i64, get_string, map_obj};
use crate::refusal::Refusal;

/// The checkout part of the JSON view, from the document and its lines
/// (already read, with their unit prices).
pub(in crate::cart) fn checkout_view<R: ReadDoc>(
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
    let approver = get_string(doc, &obj, "approver")?;
    if !approver.is_empty() {
        view.approver_name = Some(get_string(doc, &obj, "approver_name")?);
        view.approver = Some(approver);
    }
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
