//! Lines following the store's catalog (`ops::catalog`): the new price,
//! name and tier reach the line and the subtotal, the stock note follows
//! the stock, and a line already in step changes nothing.

use std::collections::HashMap;

use automerge::Automerge;
use cartroom_protocol::checkout::CartPhase;
use cartroom_protocol::http::{Product, StoreInfo};
use cartroom_protocol::{Op, OpId, UserId};
use uuid::Uuid;

use super::*;
use crate::catalog::{Catalog, Listing};

const NOW: i64 = 1_800_000_000_000;

fn catalog(price: i64, stock: Option<i64>) -> Catalog {
    let listings = stock
        .map(|stock| Listing {
            product: Product {
                sku: "mug".into(),
                name: "Blue Mug".into(),
                price,
                currency: "USD".into(),
                stock,
                image_url: String::new(),
                group_buy: None,
            },
            color: "#000".into(),
        })
        .into_iter()
        .collect();
    Catalog::new(
        StoreInfo {
            id: "t".into(),
            name: "Corner Shop".into(),
            currency: "USD".into(),
            time_zone: "UTC".into(),
        },
        listings,
    )
}

struct Cart {
    doc: Automerge,
    ana: Actor,
}

impl Cart {
    fn with_mugs(quantity: i64) -> Self {
        let ana = Actor {
            user_id: UserId::new_random(),
            name: "Ana".into(),
        };
        let mut cart = Self {
            doc: new_cart_doc("Kitchen", "USD", &ana, NOW, NodeId(0)),
            ana,
        };
        let op = Op::AddLine {
            sku: "mug".into(),
            quantity,
        };
        let ana = cart.ana.clone();
        cart.apply(&ana, &catalog(1200, Some(100)), |doc, mirror, ctx| {
            apply_op(doc, mirror, ctx, &op)
        });
        cart
    }

    fn apply(
        &mut self,
        who: &Actor,
        catalog: &Catalog,
        apply: impl FnOnce(
            &mut Automerge,
            &mut CartMirror,
            &OpContext<'_>,
        ) -> Result<Applied, crate::refusal::Refusal>,
    ) -> Applied {
        let op_id = OpId(Uuid::new_v4().to_string());
        let mut mirror = CartMirror::load(&self.doc).unwrap();
        let members = HashMap::from([(self.ana.user_id, self.ana.name.clone())]);
        let ctx = OpContext {
            actor: who,
            op_id: &op_id,
            catalog,
            now_ms: NOW,
            node: NodeId(0),
            members: &members,
        };
        let applied = apply(&mut self.doc, &mut mirror, &ctx).unwrap();
        assert_eq!(
            mirror,
            CartMirror::load(&self.doc).unwrap(),
            "mirror out of step"
        );
        applied
    }

    /// Follows `catalog` as the room does; the activity sentences of the changes made.
    fn follow(&mut self, catalog: &Catalog) -> Vec<String> {
        let stale = stale_lines(&CartMirror::load(&self.doc).unwrap(), catalog);
        let store = store_actor(&catalog.store.name);
        stale
            .into_iter()
            .filter_map(|sku| {
                let op = ServerOp::FollowProduct {
                    sku,
                    token: Uuid::new_v4(),
                };
                let applied = self.apply(&store, catalog, |doc, mirror, ctx| {
                    apply_server_op(doc, mirror, ctx, &op)
                });
                applied
                    .change
                    .map(|_| activity_text(&store.name, &applied.summary, &applied.totals))
            })
            .collect()
    }

    fn line(&self) -> cartroom_protocol::http::LineView {
        view(&self.doc).unwrap().lines.remove(0)
    }
}

#[test]
fn a_price_drop_reaches_the_line_and_the_subtotal() {
    let mut cart = Cart::with_mugs(2);
    let said = cart.follow(&catalog(1000, Some(100)));
    assert_eq!(
        said,
        ["Corner Shop: Blue Mug now $10.00 (was $12.00). Subtotal $20.00"]
    );
    assert_eq!(cart.line().unit_price, 1000);
    assert_eq!(view(&cart.doc).unwrap().subtotal, 2000);
    assert!(
        cart.follow(&catalog(1000, Some(100))).is_empty(),
        "a line in step with the catalog changes nothing"
    );
}

#[test]
fn the_stock_note_follows_low_out_back_and_unlisted() {
    let mut cart = Cart::with_mugs(1);
    assert_eq!(cart.line().stock_left, None);
    assert_eq!(
        cart.follow(&catalog(1200, Some(2))),
        ["Corner Shop: Only 2 Blue Mugs left. Subtotal $12.00"]
    );
    assert_eq!(cart.line().stock_left, Some(2));
    assert_eq!(
        cart.follow(&catalog(1200, Some(1))),
        ["Corner Shop: Only 1 Blue Mug left. Subtotal $12.00"]
    );
    assert_eq!(
        cart.follow(&catalog(900, Some(0))),
        ["Corner Shop: Blue Mug now $9.00 (was $12.00). Blue Mug is out of stock. Subtotal $9.00"]
    );
    assert_eq!(cart.line().stock_left, Some(0));
    assert_eq!(
        cart.follow(&catalog(900, Some(40))),
        ["Corner Shop: Blue Mug is back in stock. Subtotal $9.00"]
    );
    assert_eq!(cart.line().stock_left, None);
    assert_eq!(
        cart.follow(&catalog(900, None)),
        ["Corner Shop: Blue Mug is no longer sold. Subtotal $9.00"]
    );
    assert_eq!(cart.line().stock_left, Some(0));
    assert_eq!(
        cart.line().unit_price,
        900,
        "an unlisted product keeps its last price"
    );
}

#[test]
fn an_ordered_cart_keeps_the_prices_of_its_order() {
    let mut cart = Cart::with_mugs(1);
    let server = server_actor();
    let op = ServerOp::SyncOrder {
        order_id: "0123456789".into(),
        status: cartroom_protocol::checkout::OrderStatus::Pending,
        total: 1200,
        by_name: "Ana".into(),
    };
    cart.apply(&server, &catalog(1200, Some(100)), |doc, mirror, ctx| {
        apply_server_op(doc, mirror, ctx, &op)
    });
    assert_eq!(
        view(&cart.doc).unwrap().checkout.unwrap().phase,
        CartPhase::Ordered
    );
    assert!(cart.follow(&catalog(500, Some(0))).is_empty());
    assert_eq!(cart.line().unit_price, 1200);
}

#[test]
fn a_line_added_when_few_are_left_says_so_from_the_start() {
    let ana = Actor {
        user_id: UserId::new_random(),
        name: "Ana".into(),
    };
    let mut cart = Cart {
        doc: new_cart_doc("Kitchen", "USD", &ana, NOW, NodeId(0)),
        ana: ana.clone(),
    };
    let op = Op::AddLine {
        sku: "mug".into(),
        quantity: 1,
    };
    cart.apply(&ana, &catalog(1200, Some(3)), |doc, mirror, ctx| {
        apply_op(doc, mirror, ctx, &op)
    });
    assert_eq!(cart.line().stock_left, Some(3));
    assert!(cart.follow(&catalog(1200, Some(3))).is_empty());
}
