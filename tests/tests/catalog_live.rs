//! The store's catalog reaching open carts live (docs/protocol.md section
//! 6, "The store's catalog in the cart"): a price change or a stock-out
//! made through the store API becomes a change from the server in every
//! cart holding the product, seen at once by its subscribers, with the
//! subtotal following; a locked cart shows it and its checkout asks to
//! confirm the new total.

use std::time::Duration;

use cartroom_client::{Account, Connection, Event, api_error, cart_view};
use cartroom_e2e::{TestServer, shared_cart};
use cartroom_protocol::{CartId, ErrorCode, MemberRole, Op, OpId, ServerMsg};
use reqwest::Method;
use serde_json::{Value, json};

fn add(sku: &str, quantity: i64) -> Op {
    Op::AddLine {
        sku: sku.into(),
        quantity,
    }
}

fn op_id() -> OpId {
    OpId(format!("t-{}", uuid::Uuid::new_v4().simple()))
}

async fn ok(account: &Account, cart: CartId, op: Op) -> anyhow::Result<()> {
    account.http_op(cart, &op_id(), &op).await?;
    Ok(())
}

/// A store API key of the demo store, made by its owner.
async fn store_key(server: &TestServer) -> anyhow::Result<String> {
    let owner = server.owner().await?;
    let created = owner
        .request_json(
            Method::POST,
            "/api/store/keys?store=demo",
            Some(&json!({"name": "Back office"})),
        )
        .await?;
    Ok(created["secret"].as_str().unwrap().to_owned())
}

/// Changes a product through the store API.
async fn patch_product(
    server: &TestServer,
    key: &str,
    sku: &str,
    patch: Value,
) -> anyhow::Result<()> {
    let resp = reqwest::Client::new()
        .patch(format!("{}/api/v1/store/products/{sku}", server.base_url))
        .bearer_auth(key)
        .json(&patch)
        .send()
        .await?;
    anyhow::ensure!(resp.status().is_success(), "patch: {}", resp.text().await?);
    Ok(())
}

/// Reads events until the activity of `cart` says `text`; fails after a few seconds.
async fn expect_activity(conn: &mut Connection, cart: CartId, text: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match conn.next_event_timeout(left).await? {
            Some(Event::Msg(ServerMsg::Activity { cart_id, event }))
                if cart_id == cart && event.text == text =>
            {
                assert_eq!(event.kind, "catalog_change");
                assert_eq!(event.user_name, "Cartroom Corner Shop");
                return Ok(());
            }
            Some(_) => continue,
            None => anyhow::bail!("timed out waiting for {text:?}"),
        }
    }
}

#[tokio::test]
async fn price_and_stock_changes_reach_every_open_cart_holding_the_product() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let key = store_key(&server).await?;
    let ana = server.account("Ana").await?;
    let ben = server.account("Ben").await?;
    let cleo = server.account("Cleo").await?;
    let family = shared_cart(&ana, &[(&ben, MemberRole::Editor)]).await?;
    ok(&ana, family, add("MUG-BLUE", 2)).await?;
    ok(&ana, family, add("TEA-GREEN", 1)).await?;
    let office = cleo.create_cart("Office").await?;
    ok(&cleo, office, add("MUG-BLUE", 1)).await?;
    ok(&cleo, office, Op::Lock).await?;
    let shown = cleo.quote(office).await?.total;
    let tea_only = cleo.create_cart("Tea only").await?;
    ok(&cleo, tea_only, add("TEA-GREEN", 1)).await?;

    let mut ben_conn = ben.connect().await?;
    ben_conn.subscribe(family).await?;
    let mut cleo_conn = cleo.connect().await?;
    cleo_conn.subscribe(office).await?;
    cleo_conn.subscribe(tea_only).await?;

    patch_product(&server, &key, "MUG-BLUE", json!({"price": 1000})).await?;
    expect_activity(
        &mut ben_conn,
        family,
        "Cartroom Corner Shop: Blue Mug now $10.00 (was $12.00). Subtotal $26.50",
    )
    .await?;
    let seen = cart_view(ben_conn.replica(family).unwrap());
    assert_eq!(
        seen.subtotal,
        2 * 1000 + 650,
        "the subtotal follows in the replica"
    );
    expect_activity(
        &mut cleo_conn,
        office,
        "Cartroom Corner Shop: Blue Mug now $10.00 (was $12.00). Subtotal $10.00",
    )
    .await?;
    assert_eq!(cleo.cart(office).await?.view.subtotal, 1000);
    // The locked cart's checkout asks to confirm the new total.
    let refused = cleo.place_order(office, shown).await.unwrap_err();
    assert_eq!(
        api_error(&refused).and_then(|e| e.error_code()),
        Some(ErrorCode::PriceChanged)
    );
    assert_eq!(cleo.quote(office).await?.total, shown - 200);

    patch_product(&server, &key, "MUG-BLUE", json!({"stock": 0})).await?;
    expect_activity(
        &mut ben_conn,
        family,
        "Cartroom Corner Shop: Blue Mug is out of stock. Subtotal $26.50",
    )
    .await?;
    let line = cart_view(ben_conn.replica(family).unwrap())
        .lines
        .into_iter()
        .find(|l| l.sku == "MUG-BLUE")
        .unwrap();
    assert_eq!(line.stock_left, Some(0));
    let refused = ana
        .http_op(family, &op_id(), &add("MUG-BLUE", 1))
        .await
        .unwrap_err();
    assert_eq!(
        api_error(&refused).and_then(|e| e.error_code()),
        Some(ErrorCode::OutOfStock)
    );

    patch_product(&server, &key, "MUG-BLUE", json!({"stock": 2})).await?;
    expect_activity(
        &mut ben_conn,
        family,
        "Cartroom Corner Shop: Only 2 Blue Mugs left. Subtotal $26.50",
    )
    .await?;

    // A cart without the product hears nothing of it.
    let tea_texts: Vec<String> = cleo
        .activity(tea_only)
        .await?
        .into_iter()
        .filter(|e| e.kind == "catalog_change")
        .map(|e| e.text)
        .collect();
    assert!(tea_texts.is_empty(), "{tea_texts:?}");
    Ok(())
}

#[tokio::test]
async fn a_cart_loaded_after_the_change_follows_the_catalog_on_load() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let cart = ana.create_cart("Kitchen").await?;
    ok(&ana, cart, add("MUG-RED", 3)).await?;
    let key = store_key(&server).await?;
    let dir = server.stop().await?.unwrap();
    // The change is made while no room holds the cart: on a fresh server.
    let path = dir.path().to_owned();
    let server = TestServer::start_in(&path, Some(dir)).await?;
    patch_product(&server, &key, "MUG-RED", json!({"price": 1500})).await?;
    let ana = cartroom_e2e::sign_in_again(&server.base_url, &ana).await?;
    let view = ana.cart(cart).await?.view;
    assert_eq!(view.subtotal, 4500);
    let texts: Vec<String> = ana
        .activity(cart)
        .await?
        .into_iter()
        .map(|e| e.text)
        .collect();
    assert!(
        texts.contains(
            &"Cartroom Corner Shop: Red Mug now $15.00 (was $12.00). Subtotal $45.00".to_owned()
        ),
        "{texts:?}"
    );
    Ok(())
}
