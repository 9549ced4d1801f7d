//! The JSON view of a cart replica, in the shape `GET /api/carts/{id}`
//! returns (without `id` and `role`, which are not in the document).
//!
//! Reads the schema of `docs/protocol.md` section 6. Lines and suggestions
//! come in key order (Automerge maps iterate sorted by key).

use std::collections::BTreeMap;

use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc, Value as AmValue};
use cartroom_protocol::Heads;
use cartroom_protocol::http::{CartView, LineView, SuggestionView};

pub(crate) fn get_obj(doc: &Automerge, obj: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(obj, key).ok().flatten() {
        Some((AmValue::Object(ObjType::Map), id)) => Some(id),
        _ => None,
    }
}

pub(crate) fn get_str(doc: &Automerge, obj: &ObjId, key: &str) -> String {
    match doc.get(obj, key).ok().flatten() {
        Some((AmValue::Scalar(s), _)) => s.as_str().unwrap_or_default().to_owned(),
        Some((AmValue::Object(ObjType::Text), id)) => doc.text(&id).unwrap_or_default(),
        _ => String::new(),
    }
}

/// Ints, counters and timestamps all read as i64; anything else as 0.
pub(crate) fn get_i64(doc: &Automerge, obj: &ObjId, key: &str) -> i64 {
    match doc.get(obj, key).ok().flatten() {
        Some((AmValue::Scalar(s), _)) => s.as_i64().unwrap_or(0),
        _ => 0,
    }
}

/// The cart's view: `name`, `note`, `currency`, `subtotal`, `item_count`,
/// `lines`, `suggestions` (with `votes` and `score`), `heads`.
pub fn cart_view(doc: &Automerge) -> CartView {
    let root = ROOT;
    let mut lines = Vec::new();
    if let Some(lines_obj) = get_obj(doc, &root, "lines") {
        for line_id in doc.keys(&lines_obj) {
            let Some(line) = get_obj(doc, &lines_obj, &line_id) else {
                continue;
            };
            let quantity = get_i64(doc, &line, "quantity");
            let list_price = get_i64(doc, &line, "unit_price");
            // Group buy (docs/protocol.md section 6): the line's own tier.
            let group_buy = crate::checkout::line_group_buy(doc, &line, list_price, quantity);
            let unit_price = match &group_buy {
                Some(tier) if tier.active => tier.price,
                _ => list_price,
            };
            let assigned_to = Some(get_str(doc, &line, "assigned_to")).filter(|s| !s.is_empty());
            lines.push(LineView {
                sku: get_str(doc, &line, "sku"),
                name: get_str(doc, &line, "name"),
                unit_price,
                quantity,
                line_total: unit_price * quantity,
                note: get_str(doc, &line, "note"),
                added_by: get_str(doc, &line, "added_by"),
                added_by_name: get_str(doc, &line, "added_by_name"),
                added_at: get_i64(doc, &line, "added_at"),
                group_buy,
                assigned_to_name: assigned_to
                    .as_ref()
                    .map(|_| get_str(doc, &line, "assigned_to_name")),
                assigned_to,
                stock_left: crate::checkout::opt_i64(doc, &line, "stock_left"),
                line_id,
            });
        }
    }
    let mut suggestions = Vec::new();
    if let Some(sugg_obj) = get_obj(doc, &root, "suggestions") {
        for suggestion_id in doc.keys(&sugg_obj) {
            let Some(s) = get_obj(doc, &sugg_obj, &suggestion_id) else {
                continue;
            };
            let mut votes = BTreeMap::new();
            if let Some(votes_obj) = get_obj(doc, &s, "votes") {
                for voter in doc.keys(&votes_obj) {
                    let v = get_i64(doc, &votes_obj, &voter);
                    votes.insert(voter, v);
                }
            }
            suggestions.push(SuggestionView {
                sku: get_str(doc, &s, "sku"),
                name: get_str(doc, &s, "name"),
                unit_price: get_i64(doc, &s, "unit_price"),
                quantity: get_i64(doc, &s, "quantity"),
                note: get_str(doc, &s, "note"),
                by: get_str(doc, &s, "by"),
                by_name: get_str(doc, &s, "by_name"),
                at: get_i64(doc, &s, "at"),
                score: votes.values().sum(),
                votes,
                suggestion_id,
            });
        }
    }
    let checkout = crate::checkout::checkout_view(doc, &lines);
    CartView {
        name: get_str(doc, &root, "name"),
        note: get_str(doc, &root, "note"),
        currency: get_str(doc, &root, "currency"),
        // Not stored in the document: the sum of the line totals, as the server computes it.
        subtotal: lines.iter().map(|l| l.line_total).sum(),
        item_count: lines.iter().map(|l| l.quantity).sum(),
        lines,
        suggestions,
        heads: Heads(doc.get_heads().iter().map(|h| h.to_string()).collect()),
        checkout: Some(checkout),
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable as _;
    use automerge::{AutoCommit, ScalarValue};

    use super::*;

    /// Builds a cart the way the server's schema describes it.
    fn sample() -> Automerge {
        let mut d = AutoCommit::new();
        d.put(ROOT, "name", "Weekend BBQ").unwrap();
        d.put(ROOT, "note", "").unwrap();
        d.put(ROOT, "currency", "USD").unwrap();
        let lines = d.put_object(ROOT, "lines", ObjType::Map).unwrap();
        let mug = d.put_object(&lines, "MUG-BLUE", ObjType::Map).unwrap();
        d.put(&mug, "sku", "MUG-BLUE").unwrap();
        d.put(&mug, "name", "Blue Mug").unwrap();
        d.put(&mug, "unit_price", 1200).unwrap();
        d.put(&mug, "quantity", ScalarValue::counter(1)).unwrap();
        d.increment(&mug, "quantity", 1).unwrap();
        d.put(&mug, "note", "gift").unwrap();
        d.put(&mug, "added_by", "u1").unwrap();
        d.put(&mug, "added_by_name", "Ana").unwrap();
        d.put(&mug, "added_at", 1_795_302_600_000_i64).unwrap();
        let tea = d.put_object(&lines, "TEA-GREEN", ObjType::Map).unwrap();
        d.put(&tea, "sku", "TEA-GREEN").unwrap();
        d.put(&tea, "unit_price", 650).unwrap();
        d.put(&tea, "quantity", ScalarValue::counter(1)).unwrap();
        let sugg = d.put_object(ROOT, "suggestions", ObjType::Map).unwrap();
        let s = d.put_object(&sugg, "s-1", ObjType::Map).unwrap();
        d.put(&s, "sku", "TEA-GREEN").unwrap();
        d.put(&s, "quantity", 3).unwrap();
        d.put(&s, "by_name", "Kid").unwrap();
        let votes = d.put_object(&s, "votes", ObjType::Map).unwrap();
        d.put(&votes, "u1", 1).unwrap();
        d.put(&votes, "u2", 1).unwrap();
        d.put(&votes, "u3", -1).unwrap();
        d.commit();
        d.document().clone()
    }

    #[test]
    fn view_reads_lines_counters_and_votes() {
        let doc = sample();
        let v = cart_view(&doc);
        assert_eq!(v.name, "Weekend BBQ");
        assert_eq!(v.currency, "USD");
        assert_eq!(v.subtotal, 3050);
        assert_eq!(v.item_count, 3);
        let lines = &v.lines;
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].line_id, "MUG-BLUE");
        assert_eq!(lines[0].quantity, 2);
        assert_eq!(lines[0].line_total, 2400);
        assert_eq!(lines[0].note, "gift");
        assert_eq!(lines[0].added_at, 1_795_302_600_000_i64);
        assert_eq!(lines[1].name, "");
        let s = &v.suggestions[0];
        assert_eq!(s.suggestion_id, "s-1");
        assert_eq!(s.quantity, 3);
        assert_eq!(s.score, 1);
        assert_eq!(s.votes["u3"], -1);
        assert_eq!(v.heads.0.len(), 1);
    }

    #[test]
    fn empty_document_has_an_empty_view() {
        let v = cart_view(&Automerge::new());
        assert!(v.lines.is_empty());
        assert!(v.suggestions.is_empty());
        assert_eq!(v.subtotal, 0);
    }
}
