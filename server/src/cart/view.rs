//! The server's JSON view of a cart document.

use std::collections::BTreeMap;

use automerge::{Automerge, ROOT, ReadDoc};
use cartroom_protocol::Heads;
use cartroom_protocol::checkout::LineGroupBuy;
use cartroom_protocol::http::{CartView, LineView, SuggestionView};

use super::checkout::{self, checkout_view, read_assignee, read_tier};
use super::schema::{get_i64, get_string, map_obj, root_map};
use crate::refusal::Refusal;

/// Reads the document into its JSON view (lines and suggestions sorted by key).
pub fn view(doc: &Automerge) -> Result<CartView, Refusal> {
    let lines_obj = root_map(doc, "lines")?;
    let mut lines = Vec::new();
    for key in doc.keys(&lines_obj) {
        let Some(line) = map_obj(doc, &lines_obj, &key)? else {
            continue;
        };
        let list_price = get_i64(doc, &line, "unit_price")?;
        let quantity = get_i64(doc, &line, "quantity")?;
        // The line's own tier decides its price (section 6, "Group buy").
        let tier = read_tier(doc, &line)?;
        let unit_price = checkout::unit_price(list_price, tier, quantity);
        let assigned = read_assignee(doc, &line)?;
        lines.push(LineView {
            line_id: key.clone(),
            sku: get_string(doc, &line, "sku")?,
            name: get_string(doc, &line, "name")?,
            unit_price,
            quantity,
            line_total: unit_price * quantity,
            note: get_string(doc, &line, "note")?,
            added_by: get_string(doc, &line, "added_by")?,
            added_by_name: get_string(doc, &line, "added_by_name")?,
            added_at: get_i64(doc, &line, "added_at")?,
            group_buy: tier.map(|(min_quantity, price)| LineGroupBuy {
                min_quantity,
                price,
                list_price,
                active: quantity >= min_quantity,
            }),
            assigned_to: assigned.as_ref().map(|(user, _)| user.clone()),
            assigned_to_name: assigned.map(|(_, name)| name),
            stock_left: checkout::opt_i64(doc, &line, "stock_left")?,
        });
    }
    let suggestions_obj = root_map(doc, "suggestions")?;
    let mut suggestions = Vec::new();
    for key in doc.keys(&suggestions_obj) {
        let Some(s) = map_obj(doc, &suggestions_obj, &key)? else {
            continue;
        };
        let mut votes = BTreeMap::new();
        if let Some(votes_obj) = map_obj(doc, &s, "votes")? {
            for voter in doc.keys(&votes_obj) {
                let value = get_i64(doc, &votes_obj, &voter)?;
                votes.insert(voter, value);
            }
        }
        suggestions.push(SuggestionView {
            suggestion_id: key.clone(),
            sku: get_string(doc, &s, "sku")?,
            name: get_string(doc, &s, "name")?,
            unit_price: get_i64(doc, &s, "unit_price")?,
            quantity: get_i64(doc, &s, "quantity")?,
            note: get_string(doc, &s, "note")?,
            by: get_string(doc, &s, "by")?,
            by_name: get_string(doc, &s, "by_name")?,
            at: get_i64(doc, &s, "at")?,
            score: votes.values().sum(),
            votes,
        });
    }
    let checkout = checkout_view(doc, &lines)?;
    Ok(CartView {
        name: get_string(doc, &ROOT, "name")?,
        note: get_string(doc, &ROOT, "note")?,
        currency: get_string(doc, &ROOT, "currency")?,
        subtotal: lines.iter().map(|l| l.line_total).sum(),
        item_count: lines.iter().map(|l| l.quantity).sum(),
        lines,
        suggestions,
        heads: heads_of(doc),
        checkout: Some(checkout),
    })
}

/// The document's heads, as hex.
pub fn heads_of(doc: &Automerge) -> Heads {
    Heads(doc.get_heads().iter().map(ToString::to_string).collect())
}
