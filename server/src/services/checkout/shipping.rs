//! The quote's shipping: one parcel per address with something in it,
//! priced from the store's rate table, and the units that no address (or
//! too many addresses) ship, which block the order with
//! `unassigned_quantity`.

use std::collections::HashMap;

use cartroom_protocol::checkout::{CheckoutView, OrderAddress, QuoteLine, ShippingLine};
use cartroom_protocol::http::LineView;

use crate::store::CheckoutSettings;

/// What the addresses of a cart ship and cost.
pub(super) struct Shipped {
    /// One per address, empty ones included (they cost nothing).
    pub(super) lines: Vec<ShippingLine>,
    /// The addresses with something in them, as the order keeps them.
    pub(super) addresses: Vec<OrderAddress>,
}

/// Ships `lines` (priced) to the cart's addresses.
pub(super) fn ship(
    checkout: &CheckoutView,
    lines: &[QuoteLine],
    settings: &CheckoutSettings,
) -> Shipped {
    let price_of: HashMap<&str, i64> = lines
        .iter()
        .map(|l| (l.line_id.as_str(), l.unit_price))
        .collect();
    let mut shipped = Shipped {
        lines: Vec::new(),
        addresses: Vec::new(),
    };
    for address in &checkout.addresses {
        let units: i64 = address.lines.values().sum();
        let goods: i64 = address
            .lines
            .iter()
            .map(|(line, n)| price_of.get(line.as_str()).copied().unwrap_or(0) * n)
            .sum();
        let amount = settings
            .rates
            .parcel(&address.address.country, units, goods);
        shipped.lines.push(ShippingLine {
            address_id: address.address_id.clone(),
            label: address.address.label.clone(),
            units,
            goods,
            amount,
        });
        if units > 0 {
            shipped.addresses.push(OrderAddress {
                address_id: address.address_id.clone(),
                address: address.address.clone(),
                lines: address.lines.clone(),
                shipping: amount,
            });
        }
    }
    shipped
}

/// What keeps a cart with addresses from shipping every unit of every line
/// exactly once, one sentence per line; `None` when nothing does (or the
/// cart has no addresses: it is picked up).
pub(super) fn unassigned(checkout: &CheckoutView, lines: &[LineView]) -> Option<String> {
    if checkout.addresses.is_empty() {
        return None;
    }
    let mut unshipped = Vec::new();
    for line in lines {
        let shipped: i64 = checkout
            .addresses
            .iter()
            .filter_map(|a| a.lines.get(&line.line_id))
            .sum();
        if shipped < line.quantity {
            unshipped.push(format!(
                "{}: {} of {} not shipped to any address",
                line.name,
                line.quantity - shipped,
                line.quantity
            ));
        } else if shipped > line.quantity {
            unshipped.push(format!(
                "{}: {} shipped but the cart has {}",
                line.name, shipped, line.quantity
            ));
        }
    }
    (!unshipped.is_empty()).then(|| unshipped.join("; "))
}
