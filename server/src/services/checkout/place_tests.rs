//! Placing an order against a real room and the in-memory store: a price
//! that changed since the line was added is shown in the quote, refused
//! with `price_changed` until the buyer confirms the new total, and then
//! charged.

use std::sync::Arc;
use std::time::Duration;

use cartroom_protocol::checkout::{CartPhase, OrderStatus, PlaceOrderRequest};
use cartroom_protocol::{CartId, ErrorCode, MemberRole, Op, OpId, UserId};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{CheckoutDeps, CheckoutService};
use crate::cart::{self, Actor, NodeId};
use crate::catalog::demo::{DEMO_STORE, demo_catalog};
use crate::catalog::{Catalog, Catalogs};
use crate::checkout::PayAtPickup;
use crate::clock::ManualClock;
use crate::room::{OpOrigin, RoomCmd, RoomEnv, RoomLimits, Rooms};
use crate::services::error::ServiceError;
use crate::services::orders::{OrderDeps, OrderService};
use crate::store::memory::MemoryStore;
use crate::store::{Carts, CatalogStore, NewCart, Orders};

const START: i64 = 1_800_000_000_000;

/// The demo catalog with the Blue Mug at `price`.
fn repriced(price: i64) -> Catalog {
    let demo = demo_catalog();
    let mut listings = demo.listings().to_vec();
    for l in &mut listings {
        if l.product.sku == "MUG-BLUE" {
            l.product.price = price;
        }
    }
    Catalog::new(demo.store.clone(), listings)
}

#[tokio::test]
async fn a_changed_price_is_quoted_refused_until_confirmed_then_charged() {
    let store = Arc::new(MemoryStore::new());
    store.seed(&demo_catalog()).await.unwrap();
    let clock = Arc::new(ManualClock::at(START));
    // The room priced the line at the catalog of then ($12.00)...
    let rooms = Rooms::new(
        RoomEnv {
            changes: store.clone(),
            catalogs: Catalogs::new(vec![demo_catalog()]),
            clock: clock.clone(),
            edits: std::sync::Arc::new(crate::room::edits::RecordedEdits::default()),
            node: NodeId(1),
            leases: None,
            cluster: None,
            limits: RoomLimits::new(Duration::from_secs(3600), 1000),
        },
        TaskTracker::new(),
        CancellationToken::new(),
    );
    // ...and the catalog of now has it at $13.50.
    let now = Catalogs::new(vec![repriced(1350)]);
    let orders = Arc::new(OrderService::new(OrderDeps {
        orders: store.clone(),
        members: store.clone(),
        rooms: rooms.clone(),
        catalogs: now.clone(),
        clock: clock.clone(),
        payments: Arc::new(PayAtPickup),
        staff: store.clone(),
    }));
    let checkout = CheckoutService::new(CheckoutDeps {
        orders: store.clone(),
        members: store.clone(),
        rooms: rooms.clone(),
        carts: store.clone(),
        catalogs: now,
        clock: clock.clone(),
        payments: Arc::new(PayAtPickup),
        placed: orders,
    });
    let ana = Actor {
        user_id: UserId::new_random(),
        name: "Ana".into(),
    };
    let cart = CartId::new_random();
    let doc = cart::new_cart_doc("Picnic", DEMO_STORE.currency, &ana, START, NodeId(1));
    store
        .create_cart(NewCart {
            id: cart,
            store_id: DEMO_STORE.id,
            name: "Picnic",
            creator: ana.user_id,
            snapshot: &doc.save(),
            now_ms: START,
        })
        .await
        .unwrap();
    for (n, op) in [
        Op::AddLine {
            sku: "MUG-BLUE".into(),
            quantity: 2,
        },
        Op::Lock,
    ]
    .into_iter()
    .enumerate()
    {
        let (reply, rx) = oneshot::channel();
        let cmd = RoomCmd::Op {
            origin: OpOrigin::Direct {
                actor: ana.clone(),
                role: MemberRole::Admin,
                reply,
            },
            op_id: OpId(format!("op-{n}")),
            op: Box::new(op),
        };
        rooms.send(cart, cmd).await.unwrap();
        rx.await.unwrap().unwrap();
    }

    let quote = checkout.quote(cart).await.unwrap();
    assert_eq!(quote.price_changes, ["Blue Mug: $12.00 → $13.50"]);
    assert_eq!(
        (quote.lines[0].cart_price, quote.lines[0].unit_price),
        (1200, 1350)
    );
    assert_eq!(quote.total, 2700);

    // The total the cart showed before is not charged.
    let refused = checkout
        .place(
            cart,
            &ana,
            PlaceOrderRequest {
                expected_total: 2400,
            },
        )
        .await
        .unwrap_err();
    let ServiceError::Refused(refusal) = refused else {
        panic!("not a refusal: {refused:?}");
    };
    assert_eq!(refusal.code, ErrorCode::PriceChanged);
    assert!(
        refusal.message.contains("Blue Mug: $12.00 → $13.50")
            && refusal.message.contains("expected_total 2700"),
        "{}",
        refusal.message
    );
    assert!(store.cart_orders(cart).await.unwrap().is_empty());

    // Confirmed: the order charges the price of now, and the cart follows.
    let order = checkout
        .place(
            cart,
            &ana,
            PlaceOrderRequest {
                expected_total: 2700,
            },
        )
        .await
        .unwrap();
    assert_eq!(order.status, OrderStatus::Pending);
    assert_eq!((order.lines[0].unit_price, order.total), (1350, 2700));
    let (reply, rx) = oneshot::channel();
    rooms.send(cart, RoomCmd::View { reply }).await.unwrap();
    assert_eq!(
        rx.await.unwrap().checkout.unwrap().phase,
        CartPhase::Ordered
    );
}
