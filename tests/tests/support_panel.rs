//! The cart panel beside a conversation and the per-principal subscription
//! limit, over real HTTP and sockets (docs/protocol.md section 13, "Cart
//! panel", "Watching carts"): the customer's carts grouped by the stores the
//! agent works for, two lines each by default with paging, at most 250 lines
//! per store in one answer, and the panel following the carts live.

mod support_desk;

use cartroom_client::Account;
use cartroom_client::http::Method;
use cartroom_e2e::TestServer;
use cartroom_protocol::takeover::{PanelLinesResponse, PanelResponse, StockStatus};
use cartroom_protocol::{ErrorCode, Op};
use support_desk::{WADE, agent, call, cart_in, code_of, open_conversation};

/// The demo store's skus, in catalog order.
const DEMO_SKUS: [&str; 12] = [
    "MUG-BLUE",
    "MUG-RED",
    "TEA-GREEN",
    "TEA-BLACK",
    "COFFEE-BEANS",
    "PLATES-4",
    "BBQ-TONGS",
    "BURGER-BUNS",
    "WATER-6",
    "PICNIC-BLANKET",
    "PENS-10",
    "WATER-BOTTLE",
];

async fn add_lines(
    shopper: &Account,
    cart: cartroom_protocol::CartId,
    skus: &[&str],
) -> anyhow::Result<()> {
    for (i, sku) in skus.iter().enumerate() {
        let op = Op::AddLine {
            sku: (*sku).into(),
            quantity: 1,
        };
        shopper
            .http_op(cart, &cartroom_protocol::OpId(format!("{i}-{sku}")), &op)
            .await?;
    }
    Ok(())
}

#[tokio::test]
async fn the_panel_groups_carts_by_store_with_two_lines_and_pages() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let conversation = open_conversation(&ana, "demo").await?;
    let groceries = cart_in(&ana, "demo", "Groceries").await?;
    add_lines(
        &ana,
        groceries,
        &["MUG-BLUE", "MUG-RED", "TEA-GREEN", "PENS-10"],
    )
    .await?;
    let tea = cart_in(&ana, "tea", "Tea for two").await?;
    add_lines(&ana, tea, &["EARL-GREY"]).await?;
    // A cart of another shopper never shows.
    let bo = server.account("Bo").await?;
    cart_in(&bo, "demo", "Bo's").await?;

    // Wade works for `demo` only: one group.
    let wade = agent(&server, WADE).await?;
    let path = format!("/api/support/conversations/{conversation}/carts");
    let panel: PanelResponse = call(&wade, Method::GET, &path, None).await?;
    assert_eq!(panel.stores.len(), 1);
    let store = &panel.stores[0];
    assert_eq!(store.store_id, "demo");
    assert_eq!(store.store_name, "Cartroom Corner Shop");
    assert_eq!(store.currency, "USD");
    assert!(!store.truncated);
    assert_eq!(store.carts.len(), 1);
    let cart = &store.carts[0];
    assert_eq!(cart.cart_id, groceries);
    assert_eq!(cart.name, "Groceries");
    assert_eq!(cart.line_count, 4);
    assert_eq!(cart.lines.len(), 2);
    assert!(cart.more);
    let line = cart
        .lines
        .iter()
        .find(|l| l.sku == "MUG-BLUE")
        .expect("Blue Mug shown");
    assert_eq!(line.name, "Blue Mug");
    assert_eq!(line.price, 1200);
    assert_eq!(line.unit_price, 1200);
    assert_eq!(line.discount, 0);
    assert_eq!(line.quantity, 1);
    assert_eq!(line.line_total, 1200);
    assert_eq!(line.stock, StockStatus::InStock);
    assert!(line.image_url.contains("MUG-BLUE"), "{}", line.image_url);
    assert!(cart.subtotal > 1200 + 1200 + 650, "{}", cart.subtotal);

    // The owner works for both stores: two groups, each priced in its currency.
    let owner = server.owner().await?;
    let both: PanelResponse = call(&owner, Method::GET, &path, None).await?;
    let ids: Vec<&str> = both.stores.iter().map(|s| s.store_id.as_str()).collect();
    assert_eq!(ids, ["demo", "tea"]);
    assert_eq!(both.stores[1].currency, "EUR");
    assert_eq!(both.stores[1].carts[0].cart_id, tea);

    // Paging through one cart.
    let lines = format!("{path}/{groceries}/lines?offset=2&limit=5");
    let page: PanelLinesResponse = call(&wade, Method::GET, &lines, None).await?;
    assert_eq!(page.offset, 2);
    assert_eq!(page.lines.len(), 2);
    assert_eq!(page.line_count, 4);
    assert!(!page.more);
    let first: PanelLinesResponse = call(
        &wade,
        Method::GET,
        &format!("{path}/{groceries}/lines?limit=1"),
        None,
    )
    .await?;
    assert_eq!(first.lines.len(), 1);
    assert!(first.more);
    for bad in ["limit=0", "limit=251"] {
        let code = code_of(
            wade.request_json(
                Method::GET,
                &format!("{path}/{groceries}/lines?{bad}"),
                None,
            )
            .await,
        )?;
        assert_eq!(code, "invalid_field", "{bad}");
    }
    // A cart that is not the customer's is not in their panel.
    let foreign = cart_in(&bo, "demo", "Bo's other").await?;
    let code = code_of(
        wade.request_json(Method::GET, &format!("{path}/{foreign}/lines"), None)
            .await,
    )?;
    assert_eq!(code, "cart_not_found");

    // Live: a change in the cart is in the next answer.
    add_lines(&ana, groceries, &["WATER-6"]).await?;
    let later: PanelResponse = call(&wade, Method::GET, &path, None).await?;
    assert_eq!(later.stores[0].carts[0].line_count, 5);
    Ok(())
}

#[tokio::test]
async fn at_most_250_lines_per_store_in_one_answer() -> anyhow::Result<()> {
    let server = TestServer::start_with(|config| config.http_ops_per_second = 100_000).await?;
    let ana = server.account("Ana").await?;
    let conversation = open_conversation(&ana, "demo").await?;
    // 22 carts of 12 lines: 264 lines in the store.
    for i in 0..22 {
        let cart = cart_in(&ana, "demo", &format!("Cart {i}")).await?;
        add_lines(&ana, cart, &DEMO_SKUS).await?;
    }
    let wade = agent(&server, WADE).await?;
    let path = format!("/api/support/conversations/{conversation}/carts");
    let default: PanelResponse = call(&wade, Method::GET, &path, None).await?;
    let store = &default.stores[0];
    assert_eq!(store.carts.len(), 22);
    assert!(
        store
            .carts
            .iter()
            .all(|c| c.lines.len() == 2 && c.more && c.line_count == 12)
    );
    assert!(!store.truncated);

    let all: PanelResponse = call(&wade, Method::GET, &format!("{path}?lines=250"), None).await?;
    let store = &all.stores[0];
    let shown: usize = store.carts.iter().map(|c| c.lines.len()).sum();
    assert_eq!(shown, 250);
    assert!(store.truncated);
    assert_eq!(store.carts.len(), 22);
    let code = code_of(
        wade.request_json(Method::GET, &format!("{path}?lines=251"), None)
            .await,
    )?;
    assert_eq!(code, "invalid_field");
    Ok(())
}

#[tokio::test]
async fn a_shopper_holds_64_subscriptions_across_all_connections() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let mut carts = Vec::new();
    for i in 0..65 {
        carts.push(ana.create_cart(&format!("Cart {i}")).await?);
    }
    let mut first = ana.connect().await?;
    let mut second = ana.connect().await?;
    for cart in &carts[..40] {
        first.subscribe(*cart).await?;
    }
    for cart in &carts[40..64] {
        second.subscribe(*cart).await?;
    }
    let refused = first
        .subscribe(carts[64])
        .await
        .expect_err("the 65th is refused");
    let server_error = refused
        .downcast_ref::<cartroom_client::ServerError>()
        .expect("a server refusal");
    assert_eq!(server_error.code, ErrorCode::TooManySubscriptions);
    // Closing a connection gives its places back.
    second.close().await;
    let mut third = ana.connect().await?;
    // The server frees the closed connection's places once it has seen the
    // close; a bounded number of tries waits for that without sleeping.
    let mut subscribed = false;
    for _ in 0..100 {
        if third.subscribe(carts[64]).await.is_ok() {
            subscribed = true;
            break;
        }
        third.ping().await?;
    }
    assert!(subscribed);
    Ok(())
}
