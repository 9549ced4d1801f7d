//! The quote of a cart's view, pure: every line priced from the catalog
//! of now (group-buy tiers included) with the price changes since it was
//! added, stock, shipping, approval, the split, and what blocks the order,
//! each blocker with the code placing the order would get.

use std::collections::HashMap;

use cartroom_protocol::checkout::{Blocker, CartPhase, CheckoutQuote, OrderAddress, QuoteLine};
use cartroom_protocol::http::CartView;
use cartroom_protocol::{CartId, ErrorCode, UserId};

use super::shares::shares as split_shares;
use super::shipping::{Shipped, ship, unassigned};
use crate::cart::checkout::unit_price;
use crate::catalog::Catalog;
use crate::money::format_money;
use crate::policy::phase_words;
use crate::store::CheckoutSettings;

/// A quote and what placing it needs besides.
pub(super) struct Quoted {
    pub(super) quote: CheckoutQuote,
    /// Names of the cart's members, by user id.
    pub(super) names: HashMap<UserId, String>,
    pub(super) addresses: Vec<OrderAddress>,
}

pub(super) fn money(amount: i64, currency: &str) -> String {
    format_money(amount, currency)
}

/// The quote of `view`: prices and tiers from `catalog` now, shipping from
/// the store's rates, the split of the total, and what blocks the order.
pub(super) fn quote(
    cart: CartId,
    view: &CartView,
    catalog: &Catalog,
    settings: &CheckoutSettings,
    names: &HashMap<UserId, String>,
) -> Quoted {
    let checkout = view.checkout.clone().unwrap_or_default();
    let currency = view.currency.clone();
    let mut blockers = Vec::new();
    let mut block = |code: ErrorCode, message: String| blockers.push(Blocker { code, message });
    match checkout.phase {
        CartPhase::Open => block(
            ErrorCode::WrongPhase,
            "lock the cart before placing its order".into(),
        ),
        CartPhase::Ordered => block(
            ErrorCode::CartLocked,
            "the order of this cart is placed".into(),
        ),
        _ => {}
    }
    if view.lines.is_empty() {
        block(ErrorCode::InvalidField, "the cart is empty".into());
    }
    let mut lines = Vec::with_capacity(view.lines.len());
    let mut price_changes = Vec::new();
    let mut short = Vec::new();
    for line in &view.lines {
        let (price, stock) = match catalog.get(&line.sku) {
            Some(p) => {
                let tier = p.group_buy.as_ref().map(|g| (g.min_quantity, g.price));
                (unit_price(p.price, tier, line.quantity), p.stock)
            }
            None => {
                block(
                    ErrorCode::UnknownSku,
                    format!("{} is no longer sold; remove it from the cart", line.name),
                );
                (line.unit_price, 0)
            }
        };
        if price != line.unit_price {
            price_changes.push(format!(
                "{}: {} → {}",
                line.name,
                money(line.unit_price, &currency),
                money(price, &currency)
            ));
        }
        if stock < line.quantity {
            short.push(format!("{} ({} left)", line.name, stock));
        }
        let (owner, owner_name) = match (&line.assigned_to, &line.assigned_to_name) {
            (Some(user), Some(name)) => (user.clone(), name.clone()),
            _ => (line.added_by.clone(), line.added_by_name.clone()),
        };
        lines.push(QuoteLine {
            line_id: line.line_id.clone(),
            sku: line.sku.clone(),
            name: line.name.clone(),
            quantity: line.quantity,
            cart_price: line.unit_price,
            unit_price: price,
            line_total: price * line.quantity,
            owner,
            owner_name,
            stock,
        });
    }
    if !short.is_empty() {
        block(
            ErrorCode::OutOfStock,
            format!("out of stock: {}", short.join(", ")),
        );
    }
    let subtotal: i64 = lines.iter().map(|l| l.line_total).sum();
    let Shipped {
        lines: shipping,
        addresses,
    } = ship(&checkout, &lines, settings);
    if let Some(message) = unassigned(&checkout, &view.lines) {
        block(ErrorCode::UnassignedQuantity, message);
    }
    let shipping_total: i64 = shipping.iter().map(|s| s.amount).sum();
    let total = subtotal + shipping_total;
    let approval_over = checkout.approval_over.or(settings.approval_over);
    let needs_approval = approval_over.is_some_and(|over| total > over);
    if needs_approval
        && matches!(
            checkout.phase,
            CartPhase::Locked | CartPhase::PendingApproval
        )
    {
        block(
            ErrorCode::ApprovalRequired,
            format!(
                "orders over {} need approval; this one is {} and the cart is {}",
                money(approval_over.unwrap_or(0), &currency),
                money(total, &currency),
                phase_words(checkout.phase)
            ),
        );
    }
    let mut shares = Vec::new();
    if let Some(plan) = &checkout.split {
        match split_shares(plan, &lines, subtotal, shipping_total, names) {
            Ok(parts) => shares = parts,
            Err(message) => block(ErrorCode::SplitInvalid, message),
        }
    }
    Quoted {
        quote: CheckoutQuote {
            cart_id: cart,
            phase: checkout.phase,
            currency,
            lines,
            subtotal,
            shipping,
            shipping_total,
            total,
            price_changes,
            approval_over,
            needs_approval,
            split: checkout.split,
            shares,
            blockers,
        },
        names: names.clone(),
        addresses,
    }
}
