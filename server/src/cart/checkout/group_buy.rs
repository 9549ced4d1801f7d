//! Group buy: a line pays its tier's price once the cart holds the tier's
//! minimum of it (derived, never stored), and the activity sentence says
//! when a tier is reached or lost.

use automerge::{ObjId, ReadDoc};

use super::opt_i64;
use crate::cart::mirror::CartMirror;
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

/// A line's group-buy tier `(min_quantity, price)`, when it has one.
pub(in crate::cart) fn read_tier<R: ReadDoc>(
    doc: &R,
    line: &ObjId,
) -> Result<Option<(i64, i64)>, Refusal> {
    Ok(opt_i64(doc, line, "group_buy_min")?.zip(opt_i64(doc, line, "group_buy_price")?))
}

/// "(Blue Mug: group price $9.50 each)" for each line whose tier was just
/// reached, "(Blue Mug: back to $12.00 each)" for each that fell below it.
pub(in crate::cart) fn group_buy_notes(before: &CartMirror, after: &CartMirror) -> String {
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
