//! The store's catalog reaching a cart's lines: a line keeps the price,
//! name and group-buy tier of its product as the catalog has them now, and
//! says when the product runs low, runs out or is no longer sold. Only the
//! server makes these changes (`ServerOp::FollowProduct`), when the room
//! sees a new catalog version; a line's price is what the document says,
//! so every replica shows the new price and subtotal at once.

use automerge::transaction::Transactable;
use cartroom_protocol::checkout::CartPhase;

use super::Tx;
use crate::cart::apply::OpContext;
use crate::cart::mirror::{CartMirror, LineMirror};
use crate::catalog::Catalog;
use crate::money::format_money;
use crate::refusal::Refusal;

/// At or below this many units in stock, a line says how many are left.
pub const LOW_STOCK: i64 = 5;

/// What a line should say of its product's stock: `Some(n)` when `n` units
/// or fewer are left (0: out of stock or no longer sold), `None` otherwise.
pub(super) fn stock_note(stock: Option<i64>) -> Option<i64> {
    match stock {
        None => Some(0),
        Some(n) if n <= LOW_STOCK => Some(n.max(0)),
        Some(_) => None,
    }
}

/// The skus of the lines that differ from `catalog` (price, name, tier or
/// stock note), sorted; none once the cart is ordered, whose prices are the
/// order's.
pub fn stale_lines(cart: &CartMirror, catalog: &Catalog) -> Vec<String> {
    if cart.checkout.phase == CartPhase::Ordered {
        return Vec::new();
    }
    let mut stale: Vec<String> = cart
        .lines
        .iter()
        .filter(|(sku, line)| is_stale(line, catalog, sku))
        .map(|(sku, _)| sku.clone())
        .collect();
    stale.sort();
    stale
}

fn is_stale(line: &LineMirror, catalog: &Catalog, sku: &str) -> bool {
    let product = catalog.get(sku);
    if line.stock_left != stock_note(product.map(|p| p.stock)) {
        return true;
    }
    product.is_some_and(|p| {
        p.price != line.list_price
            || p.name != line.name
            || p.group_buy.as_ref().map(|g| (g.min_quantity, g.price)) != line.group_buy
    })
}

/// Brings the line of `sku` in step with the catalog; the summary quotes
/// the store (": Blue Mug now $10.00 (was $12.00)"). Nothing changes when
/// the line is gone, already in step, or the cart is ordered.
pub(in crate::cart) fn follow_product(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    sku: &str,
) -> Result<String, Refusal> {
    let phase = cart.checkout.phase;
    let currency = cart.currency.clone();
    let Some(line) = cart.lines.get_mut(sku) else {
        return Ok(format!("found no line of {sku} to update"));
    };
    if phase == CartPhase::Ordered {
        return Ok(format!("kept {} at the price of its order", line.name));
    }
    let product = ctx.catalog.get(sku);
    let mut said = Vec::new();
    if let Some(p) = product {
        if p.name != line.name {
            tx.put(&line.obj, "name", p.name.as_str())?;
            line.name = p.name.clone();
        }
        if p.price != line.list_price {
            said.push(format!(
                "{} now {} (was {})",
                p.name,
                format_money(p.price, &currency),
                format_money(line.list_price, &currency)
            ));
            tx.put(&line.obj, "unit_price", p.price)?;
            line.list_price = p.price;
        }
        let tier = p.group_buy.as_ref().map(|g| (g.min_quantity, g.price));
        if tier != line.group_buy {
            match tier {
                Some((min, price)) => {
                    tx.put(&line.obj, "group_buy_min", min)?;
                    tx.put(&line.obj, "group_buy_price", price)?;
                }
                None => {
                    tx.delete(&line.obj, "group_buy_min")?;
                    tx.delete(&line.obj, "group_buy_price")?;
                }
            }
            line.group_buy = tier;
        }
    }
    let note = stock_note(product.map(|p| p.stock));
    if note != line.stock_left {
        said.push(match (product, note) {
            (None, _) => format!("{} is no longer sold", line.name),
            (Some(_), Some(0)) => format!("{} is out of stock", line.name),
            (Some(_), Some(n)) => format!("Only {n} {} left", plural(&line.name, n)),
            (Some(_), None) => format!("{} is back in stock", line.name),
        });
        match note {
            Some(n) => tx.put(&line.obj, "stock_left", n)?,
            None => tx.delete(&line.obj, "stock_left")?,
        }
        line.stock_left = note;
    }
    if said.is_empty() {
        return Ok(format!("found {} up to date", line.name));
    }
    Ok(format!(": {}", said.join(". ")))
}

/// "Blue Mug" for one, "Blue Mugs" (or "Glasses") for more.
fn plural(name: &str, n: i64) -> String {
    if n == 1 {
        return name.to_owned();
    }
    let ends = |s: &str| name.to_lowercase().ends_with(s);
    if ends("s") || ends("x") || ends("ch") || ends("sh") {
        format!("{name}es")
    } else {
        format!("{name}s")
    }
}
