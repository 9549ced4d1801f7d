//! Orders on Postgres, through the traits: placing, stock, statuses,
//! payments, sync marks, settings, deadlines; and the races several nodes
//! bring (the last unit, one cart twice, a cancel twice).

use std::sync::Arc;

use cartroom_protocol::checkout::{OrderLine, OrderShare, OrderStatus, SplitPlan};
use cartroom_protocol::{CartId, UserId};

use crate::store::postgres::PgStore;
use crate::store::postgres::testing::fresh;
use crate::store::{Deadlines, NewOrder, Orders, PlaceError, StatusError};

/// A store `demo` with the products `(sku, stock)`.
pub(in crate::store::postgres) async fn shop(store: &PgStore, products: &[(&str, i64)]) {
    sqlx::query("INSERT INTO stores (id, name, currency) VALUES ('demo', 'Demo', 'EUR')")
        .execute(&store.pool)
        .await
        .unwrap();
    for (position, (sku, stock)) in products.iter().enumerate() {
        sqlx::query(
            "INSERT INTO products (store_id, sku, name, price, currency, stock, color, position)
             VALUES ('demo', $1, $1, 500, 'EUR', $2, 'blue', $3)",
        )
        .bind(sku)
        .bind(stock)
        .bind(position as i64)
        .execute(&store.pool)
        .await
        .unwrap();
    }
}

/// An order of `lines` `(sku, quantity)` for `cart`, one payer.
pub(in crate::store::postgres) fn new_order(cart: CartId, lines: &[(&str, i64)]) -> NewOrder {
    let payer = UserId::new_random();
    let lines: Vec<OrderLine> = (lines.iter())
        .map(|(sku, quantity)| OrderLine {
            sku: (*sku).to_owned(),
            name: format!("{sku} name"),
            unit_price: 500,
            quantity: *quantity,
            line_total: 500 * quantity,
            owner: payer.to_string(),
            owner_name: "Ana".to_owned(),
        })
        .collect();
    let subtotal = lines.iter().map(|l| l.line_total).sum();
    NewOrder {
        id: format!("ord_{}", uuid::Uuid::new_v4().simple()),
        store_id: "demo".to_owned(),
        cart_id: cart,
        cart_name: "Picnic".to_owned(),
        placed_by: payer,
        placed_by_name: "Ana".to_owned(),
        currency: "EUR".to_owned(),
        subtotal,
        shipping: 0,
        total: subtotal,
        lines,
        addresses: Vec::new(),
        split: SplitPlan::OnePayer { payer },
        shares: vec![OrderShare {
            user_id: payer,
            name: "Ana".to_owned(),
            amount: subtotal,
            provider: "invoice".to_owned(),
            reference: "INV-1".to_owned(),
            instructions: "Pay at pickup".to_owned(),
            paid_at: None,
        }],
        now_ms: 1_000,
    }
}

async fn stock(store: &PgStore, sku: &str) -> i64 {
    sqlx::query_scalar("SELECT stock FROM products WHERE store_id = 'demo' AND sku = $1")
        .bind(sku)
        .fetch_one(&store.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_order_takes_stock_reads_back_and_a_cancel_returns_it() {
    let Some(store) = fresh().await else { return };
    shop(&store, &[("MUG", 5), ("CUP", 2)]).await;
    let cart = CartId::new_random();
    // Lines in sku order, as they read back (SQLite: the same).
    let order = new_order(cart, &[("CUP", 1), ("MUG", 3)]);
    store.place_order(&order).await.unwrap();
    assert_eq!(
        (stock(&store, "MUG").await, stock(&store, "CUP").await),
        (2, 1)
    );
    let read = store.order(&order.id).await.unwrap().unwrap();
    assert_eq!(read, order.view());
    assert_eq!(store.cart_orders(cart).await.unwrap(), vec![order.view()]);
    assert_eq!(
        store.store_orders("demo").await.unwrap(),
        vec![order.view()]
    );
    assert!(store.order("ord_none").await.unwrap().is_none());

    // One live order per cart.
    let again = new_order(cart, &[("MUG", 1)]);
    assert!(matches!(
        store.place_order(&again).await,
        Err(PlaceError::CartHasOrder)
    ));

    // Short lines are all named, and nothing is taken.
    let other = new_order(CartId::new_random(), &[("MUG", 1), ("CUP", 2), ("NONE", 1)]);
    let Err(PlaceError::OutOfStock(short)) = store.place_order(&other).await else {
        panic!("not short")
    };
    let short: Vec<_> = short
        .iter()
        .map(|s| (s.sku.as_str(), s.wanted, s.in_stock))
        .collect();
    assert_eq!(short, [("CUP", 2, 1), ("NONE", 1, 0)]);
    assert_eq!(stock(&store, "MUG").await, 2);

    // Status changes: refused ones change nothing.
    let staff = [OrderStatus::Pending, OrderStatus::Confirmed];
    let err = store
        .set_order_status(&order.id, OrderStatus::Fulfilled, &staff, "Bo", 2_000)
        .await;
    assert!(
        matches!(err, Err(StatusError::Wrong(OrderStatus::Pending))),
        "{err:?}"
    );
    let err = store
        .set_order_status(&order.id, OrderStatus::Confirmed, &[], "Bo", 2_000)
        .await;
    assert!(
        matches!(err, Err(StatusError::NotAllowed(OrderStatus::Pending))),
        "{err:?}"
    );
    let err = store
        .set_order_status("ord_none", OrderStatus::Confirmed, &staff, "Bo", 2_000)
        .await;
    assert!(matches!(err, Err(StatusError::NotFound)), "{err:?}");

    // Sync marks follow the latest status.
    let unsynced = store.unsynced_orders().await.unwrap();
    assert_eq!(unsynced.len(), 1);
    assert_eq!(
        (unsynced[0].status, unsynced[0].by_name.as_str()),
        (OrderStatus::Pending, "Ana")
    );
    store
        .mark_synced(&order.id, OrderStatus::Pending)
        .await
        .unwrap();
    assert!(store.unsynced_orders().await.unwrap().is_empty());

    let confirmed = store
        .set_order_status(&order.id, OrderStatus::Confirmed, &staff, "Bo", 2_000)
        .await
        .unwrap();
    assert_eq!(
        (confirmed.status, confirmed.updated_at),
        (OrderStatus::Confirmed, 2_000)
    );
    store
        .mark_synced(&order.id, OrderStatus::Pending)
        .await
        .unwrap();
    assert_eq!(store.unsynced_orders().await.unwrap()[0].by_name, "Bo");

    let cancelled = store
        .set_order_status(&order.id, OrderStatus::Cancelled, &staff, "Bo", 3_000)
        .await
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(
        (stock(&store, "MUG").await, stock(&store, "CUP").await),
        (5, 2)
    );
    // The cart may order again.
    store.place_order(&again).await.unwrap();
    assert_eq!(store.cart_orders(cart).await.unwrap().len(), 2);
}

#[tokio::test]
async fn shares_are_paid_once_and_settings_and_deadlines_read() {
    let Some(store) = fresh().await else { return };
    shop(&store, &[("MUG", 5)]).await;
    let order = new_order(CartId::new_random(), &[("MUG", 1)]);
    store.place_order(&order).await.unwrap();
    let payer = order.shares[0].user_id;
    let paid = store
        .mark_share_paid(&order.id, payer, 5)
        .await
        .unwrap()
        .unwrap();
    assert!(paid.paid);
    let again = store
        .mark_share_paid(&order.id, payer, 9)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.shares[0].paid_at, Some(5));
    let nobody = UserId::new_random();
    assert!(
        store
            .mark_share_paid(&order.id, nobody, 9)
            .await
            .unwrap()
            .is_none()
    );

    // The demo store's rates are seeded by the schema, as on SQLite.
    let settings = store.checkout_settings("demo").await.unwrap();
    let rates: Vec<_> = (settings.rates.0.iter())
        .map(|r| (r.country.as_str(), r.price, r.free_over))
        .collect();
    assert_eq!(settings.approval_over, None);
    assert_eq!(rates, [("*", 1499, None), ("US", 499, Some(5000))]);
    sqlx::query("INSERT INTO store_checkout (store_id, approval_over) VALUES ('demo', 9000)")
        .execute(&store.pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO shipping_rates (store_id, country, price, free_over)
         VALUES ('demo', 'FR', 700, NULL), ('demo', 'DE', 500, 5000)",
    )
    .execute(&store.pool)
    .await
    .unwrap();
    let settings = store.checkout_settings("demo").await.unwrap();
    assert_eq!(settings.approval_over, Some(9000));
    let countries: Vec<_> = settings
        .rates
        .0
        .iter()
        .map(|r| r.country.as_str())
        .collect();
    assert_eq!(countries, ["*", "DE", "FR", "US"]);
    assert_eq!(settings.rates.0[1].free_over, Some(5000));

    assert_eq!(store.next_deadline(0).await.unwrap(), None);
    let user = UserId::new_random();
    sqlx::query("INSERT INTO users (id, name, is_guest, created_at) VALUES ($1, 'Ana', FALSE, 0)")
        .bind(user.to_string())
        .execute(&store.pool)
        .await
        .unwrap();
    let (early, late) = (CartId::new_random(), CartId::new_random());
    for (cart, deadline) in [
        (early, Some(100_i64)),
        (late, Some(300)),
        (CartId::new_random(), None),
    ] {
        sqlx::query(
            "INSERT INTO carts (id, store_id, name, created_by, created_at, updated_at, lock_deadline)
             VALUES ($1, 'demo', 'c', $2, 0, 0, $3)",
        )
        .bind(cart.to_string())
        .bind(user.to_string())
        .bind(deadline)
        .execute(&store.pool)
        .await
        .unwrap();
    }
    assert_eq!(store.next_deadline(0).await.unwrap(), Some(100));
    assert_eq!(store.next_deadline(100).await.unwrap(), Some(300));
    assert_eq!(store.next_deadline(300).await.unwrap(), None);
    assert_eq!(store.due_deadlines(200).await.unwrap(), vec![(early, 100)]);
    assert_eq!(
        store.due_deadlines(300).await.unwrap(),
        vec![(early, 100), (late, 300)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_orders_for_the_last_unit_sell_it_once() {
    let Some(store) = fresh().await else { return };
    shop(&store, &[("MUG", 1), ("CUP", 10)]).await;
    let store = Arc::new(store);
    for _ in 0..5 {
        sqlx::query("UPDATE products SET stock = 1 WHERE sku = 'MUG'")
            .execute(&store.pool)
            .await
            .unwrap();
        // Several products each, in opposite orders: no deadlock either.
        let a = new_order(CartId::new_random(), &[("CUP", 1), ("MUG", 1)]);
        let b = new_order(CartId::new_random(), &[("MUG", 1), ("CUP", 1)]);
        let (s1, s2) = (store.clone(), store.clone());
        let (ra, rb) = tokio::join!(
            tokio::spawn(async move { s1.place_order(&a).await }),
            tokio::spawn(async move { s2.place_order(&b).await }),
        );
        let results = [ra.unwrap(), rb.unwrap()];
        let placed = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(placed, 1, "{results:?}");
        let short = results.iter().find_map(|r| match r {
            Err(PlaceError::OutOfStock(short)) => Some(short.clone()),
            _ => None,
        });
        let short = short.expect("the other order is short");
        assert_eq!(
            (short.len(), short[0].sku.as_str(), short[0].in_stock),
            (1, "MUG", 0)
        );
        assert_eq!(stock(&store, "MUG").await, 0);
    }
    // Five orders took one CUP each; the short ones took none.
    assert_eq!(stock(&store, "CUP").await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_cart_placed_twice_at_once_has_one_order() {
    let Some(store) = fresh().await else { return };
    shop(&store, &[("MUG", 100)]).await;
    let store = Arc::new(store);
    for _ in 0..5 {
        let cart = CartId::new_random();
        let (a, b) = (
            new_order(cart, &[("MUG", 1)]),
            new_order(cart, &[("MUG", 1)]),
        );
        let (s1, s2) = (store.clone(), store.clone());
        let (ra, rb) = tokio::join!(
            tokio::spawn(async move { s1.place_order(&a).await }),
            tokio::spawn(async move { s2.place_order(&b).await }),
        );
        let results = [ra.unwrap(), rb.unwrap()];
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(PlaceError::CartHasOrder)))
        );
        assert_eq!(store.cart_orders(cart).await.unwrap().len(), 1);
    }
    assert_eq!(stock(&store, "MUG").await, 95);

    // Two cancels at once return the units once.
    let order = store.store_orders("demo").await.unwrap().remove(0);
    let all = [OrderStatus::Pending, OrderStatus::Confirmed];
    let (s1, s2) = (store.clone(), store.clone());
    let (id1, id2) = (order.id.clone(), order.id.clone());
    let (ra, rb) = tokio::join!(
        tokio::spawn(async move {
            s1.set_order_status(&id1, OrderStatus::Cancelled, &all, "Bo", 5)
                .await
        }),
        tokio::spawn(async move {
            s2.set_order_status(&id2, OrderStatus::Cancelled, &all, "Bo", 5)
                .await
        }),
    );
    let results = [ra.unwrap(), rb.unwrap()];
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(StatusError::Wrong(OrderStatus::Cancelled))))
    );
    assert_eq!(stock(&store, "MUG").await, 96);
}
