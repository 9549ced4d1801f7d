//! The quote, without a room: prices of now, tiers, shipping, approval,
//! the split and the order in which blockers are listed.

use std::collections::HashMap;

use cartroom_protocol::checkout::{Address, AddressView, CartPhase, CheckoutView, SplitPlan};
use cartroom_protocol::http::{CartView, GroupBuy, LineView, Product, StoreInfo};
use cartroom_protocol::{CartId, ErrorCode, Heads, UserId};

use super::quote::quote;
use crate::catalog::{Catalog, Listing};
use crate::checkout::{RateTable, ShippingRate};
use crate::store::CheckoutSettings;

fn catalog(mug_price: i64) -> Catalog {
    let listing = |sku: &str, name: &str, price, group_buy| Listing {
        product: Product {
            sku: sku.into(),
            name: name.into(),
            price,
            currency: "USD".into(),
            stock: 4,
            image_url: String::new(),
            group_buy,
        },
        color: "#000".into(),
    };
    Catalog::new(
        StoreInfo {
            id: "demo".into(),
            name: "Shop".into(),
            currency: "USD".into(),
            time_zone: "UTC".into(),
        },
        vec![
            listing(
                "MUG",
                "Mug",
                mug_price,
                Some(GroupBuy {
                    min_quantity: 10,
                    price: 950,
                }),
            ),
            listing("TEA", "Tea", 650, None),
        ],
    )
}

fn line(sku: &str, unit_price: i64, quantity: i64, by: UserId, name: &str) -> LineView {
    LineView {
        line_id: sku.into(),
        sku: sku.into(),
        name: sku.into(),
        unit_price,
        quantity,
        line_total: unit_price * quantity,
        note: String::new(),
        added_by: by.to_string(),
        added_by_name: name.into(),
        added_at: 0,
        group_buy: None,
        assigned_to: None,
        assigned_to_name: None,
        stock_left: None,
    }
}

fn cart_view(lines: Vec<LineView>, checkout: CheckoutView) -> CartView {
    CartView {
        name: "Lunch".into(),
        note: String::new(),
        currency: "USD".into(),
        subtotal: lines.iter().map(|l| l.line_total).sum(),
        item_count: lines.iter().map(|l| l.quantity).sum(),
        lines,
        suggestions: Vec::new(),
        heads: Heads::default(),
        checkout: Some(checkout),
    }
}

fn settings() -> CheckoutSettings {
    CheckoutSettings {
        approval_over: Some(10_000),
        rates: RateTable(vec![ShippingRate {
            country: "*".into(),
            price: 500,
            free_over: None,
        }]),
    }
}

#[test]
fn a_quote_charges_the_catalog_price_of_now_and_says_what_changed() {
    let (ana, ben) = (UserId::new_random(), UserId::new_random());
    let names = HashMap::from([(ana, "Ana".to_owned()), (ben, "Ben".to_owned())]);
    let view = cart_view(
        vec![
            line("MUG", 1200, 2, ana, "Ana"),
            line("TEA", 650, 5, ben, "Ben"),
        ],
        CheckoutView {
            phase: CartPhase::Locked,
            split: Some(SplitPlan::ByItem),
            ..CheckoutView::default()
        },
    );
    let cart = CartId::new_random();
    let quoted = quote(cart, &view, &catalog(1000), &settings(), &names);
    let q = quoted.quote;
    assert_eq!(q.price_changes, ["MUG: $12.00 → $10.00"]);
    assert_eq!(q.subtotal, 2 * 1000 + 5 * 650);
    assert_eq!(q.total, q.subtotal, "no addresses: picked up, no shipping");
    assert!(!q.needs_approval);
    // Tea: 5 wanted, 4 in stock: shown, and left for the order to decide.
    assert_eq!(q.blockers.len(), 1, "{:?}", q.blockers);
    assert_eq!(q.blockers[0].code, ErrorCode::OutOfStock);
    let shares: i64 = q.shares.iter().map(|s| s.amount).sum();
    assert_eq!(shares, q.total);

    // Shipping per address, unshipped units, the store's approval rule,
    // and a payer who left the cart.
    let mut checkout = CheckoutView {
        phase: CartPhase::Locked,
        split: Some(SplitPlan::OnePayer {
            payer: UserId::new_random(),
        }),
        ..CheckoutView::default()
    };
    checkout.addresses.push(AddressView {
        address_id: "a-1".into(),
        address: Address {
            country: "US".into(),
            ..Address::default()
        },
        lines: [("MUG".to_owned(), 9)].into(),
    });
    let view = cart_view(vec![line("MUG", 1200, 12, ana, "Ana")], checkout);
    let q = quote(cart, &view, &catalog(1200), &settings(), &names).quote;
    // Twelve reach the tier in the catalog too.
    assert_eq!(q.lines[0].unit_price, 950);
    assert_eq!(q.shipping_total, 500);
    assert_eq!(q.total, 12 * 950 + 500);
    assert!(q.needs_approval);
    let codes: Vec<ErrorCode> = q.blockers.iter().map(|b| b.code).collect();
    assert_eq!(
        codes,
        [
            ErrorCode::OutOfStock,
            ErrorCode::UnassignedQuantity,
            ErrorCode::ApprovalRequired,
            ErrorCode::SplitInvalid
        ]
    );
    assert!(
        q.blockers[1].message.contains("3 of 12"),
        "{:?}",
        q.blockers
    );
}
