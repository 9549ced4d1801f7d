//! Ops on lines. A line is keyed by its sku, and its quantity is a counter,
//! so that concurrent adds of one product by two people both count.

use automerge::ObjType;
use automerge::ScalarValue;
use automerge::transaction::Transactable;
use cartroom_protocol::ErrorCode;
use cartroom_protocol::limits::{MAX_LINES, QUANTITY_RANGE};

use super::catalog::stock_note;
use super::{Tx, listing};
use crate::cart::apply::OpContext;
use crate::cart::mirror::{CartMirror, LineMirror};
use crate::refusal::Refusal;

pub(super) fn add_line(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    sku: &str,
    quantity: i64,
) -> Result<String, Refusal> {
    let what = add_to_line(tx, cart, ctx, sku, quantity)?;
    Ok(format!("added {what}"))
}

/// Adds `quantity` of `sku` to its line, creating the line if needed;
/// returns "Blue Mug*2". Accepting a suggestion goes through here too.
pub(super) fn add_to_line(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    sku: &str,
    quantity: i64,
) -> Result<String, Refusal> {
    let product = &listing(ctx, sku)?.product;
    match cart.lines.get_mut(sku) {
        Some(line) => {
            let total = line.quantity + quantity;
            check_line_quantity(total)?;
            check_stock(product.stock, &product.name, total)?;
            tx.increment(&line.obj, "quantity", quantity)?;
            line.quantity = total;
        }
        None => {
            if cart.lines.len() >= MAX_LINES {
                return Err(Refusal::new(
                    ErrorCode::CartFull,
                    format!("a cart holds at most {MAX_LINES} lines"),
                ));
            }
            check_stock(product.stock, &product.name, quantity)?;
            let obj = tx.put_object(&cart.lines_obj, sku, ObjType::Map)?;
            tx.put(&obj, "sku", sku)?;
            tx.put(&obj, "name", product.name.as_str())?;
            tx.put(&obj, "unit_price", product.price)?;
            tx.put(&obj, "quantity", ScalarValue::counter(quantity))?;
            tx.put(&obj, "note", "")?;
            tx.put(&obj, "added_by", ctx.actor.user_id.to_string())?;
            tx.put(&obj, "added_by_name", ctx.actor.name.as_str())?;
            tx.put(&obj, "added_at", ctx.now_ms)?;
            // The tier travels with the line, so that every replica derives
            // the price the cart pays from the document alone.
            let group_buy = product
                .group_buy
                .as_ref()
                .map(|g| (g.min_quantity, g.price));
            if let Some((min, price)) = group_buy {
                tx.put(&obj, "group_buy_min", min)?;
                tx.put(&obj, "group_buy_price", price)?;
            }
            let stock_left = stock_note(Some(product.stock));
            if let Some(n) = stock_left {
                tx.put(&obj, "stock_left", n)?;
            }
            cart.lines.insert(
                sku.to_owned(),
                LineMirror {
                    obj,
                    name: product.name.clone(),
                    list_price: product.price,
                    quantity,
                    group_buy,
                    added_by: ctx.actor.user_id.to_string(),
                    assigned: None,
                    stock_left,
                },
            );
        }
    }
    Ok(format!("{}*{}", product.name, quantity))
}

pub(super) fn change_quantity(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    line_id: &str,
    delta: i64,
) -> Result<String, Refusal> {
    let line = cart.line_mut(line_id)?;
    let total = line.quantity + delta;
    check_line_quantity(total)?;
    if delta > 0 {
        check_stock(stock_of(ctx, line_id), &line.name, total)?;
    }
    tx.increment(&line.obj, "quantity", delta)?;
    line.quantity = total;
    Ok(format!("changed {} to {total}", line.name))
}

pub(super) fn set_quantity(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    line_id: &str,
    quantity: i64,
) -> Result<String, Refusal> {
    let line = cart.line_mut(line_id)?;
    check_stock(stock_of(ctx, line_id), &line.name, quantity)?;
    // An increment by the difference composes with concurrent increments.
    if quantity != line.quantity {
        tx.increment(&line.obj, "quantity", quantity - line.quantity)?;
    }
    line.quantity = quantity;
    Ok(format!("set {} to {quantity}", line.name))
}

pub(super) fn remove_line(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    line_id: &str,
) -> Result<String, Refusal> {
    let name = cart.line(line_id)?.name.clone();
    tx.delete(&cart.lines_obj, line_id)?;
    cart.lines.remove(line_id);
    // A line added again starts afresh, shipped nowhere.
    super::checkout::forget_allocations(tx, cart, line_id)?;
    Ok(format!("removed {name}"))
}

pub(super) fn set_line_note(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    line_id: &str,
    note: &str,
) -> Result<String, Refusal> {
    let line = cart.line(line_id)?;
    tx.put(&line.obj, "note", note)?;
    Ok(format!("noted on {}: \"{note}\"", line.name))
}

/// The stock of a line's product; a product gone from the catalog is not
/// limited (its line can still change).
fn stock_of(ctx: &OpContext<'_>, sku: &str) -> i64 {
    ctx.catalog.get(sku).map_or(i64::MAX, |p| p.stock)
}

fn check_stock(stock: i64, name: &str, quantity: i64) -> Result<(), Refusal> {
    if quantity > stock {
        return Err(Refusal::new(
            ErrorCode::OutOfStock,
            format!("only {stock} of {name} in stock"),
        ));
    }
    Ok(())
}

fn check_line_quantity(quantity: i64) -> Result<(), Refusal> {
    if !QUANTITY_RANGE.contains(&quantity) {
        return Err(Refusal::new(
            ErrorCode::QuantityOutOfRange,
            format!(
                "a line's quantity stays between {} and {} (it would be {quantity})",
                QUANTITY_RANGE.start(),
                QUANTITY_RANGE.end()
            ),
        ));
    }
    Ok(())
}
