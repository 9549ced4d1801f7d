//! The store API end to end (`docs/protocol.md` section 14): API keys and
//! ping, catalog sync (bulk upsert with a bad row, partial updates,
//! unlisting, the change cursor), idempotent requests, customer import and
//! export, and the order export cursor while orders are being placed.

use std::collections::HashSet;

use anyhow::{Context, bail};
use cartroom_client::Account;
use cartroom_e2e::{DEMO_AGENT_EMAIL, DEMO_OWNER_PASSWORD, PASSWORD, TestServer};
use cartroom_protocol::back_office::{CreatedApiKey, CustomersPage, ProductsPage, StoreOrdersPage};
use cartroom_protocol::{CartId, ErrorCode, Op, OpId};
use proptest::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A back office: one API key, plain HTTP.
struct BackOffice {
    base_url: String,
    secret: String,
    http: reqwest::Client,
}

/// An answer: status, JSON body (`null` when empty), whether replayed.
struct Answer {
    status: StatusCode,
    body: Value,
    replayed: bool,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

impl BackOffice {
    fn new(base_url: &str, secret: &str) -> Self {
        Self {
            base_url: base_url.to_owned(),
            secret: secret.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> anyhow::Result<Answer> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(&self.secret);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await?;
        let status = response.status();
        let replayed = response.headers().contains_key("idempotent-replayed");
        let bytes = response.bytes().await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).with_context(|| format!("{status} {bytes:?}"))?
        };
        Ok(Answer {
            status,
            body,
            replayed,
        })
    }

    async fn get(&self, path: &str) -> anyhow::Result<Answer> {
        self.send(Method::GET, path, None, None).await
    }

    /// A request that must succeed; its body.
    async fn ok(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let answer = self.send(method, path, body, None).await?;
        if !answer.status.is_success() {
            bail!("{path}: {} {}", answer.status, answer.body);
        }
        Ok(answer.body)
    }

    /// Pages `path` from `after` to the end, `limit` at a time.
    async fn products_from(
        &self,
        after: &str,
        limit: usize,
    ) -> anyhow::Result<(Vec<Value>, String)> {
        let mut cursor = after.to_owned();
        let mut all = Vec::new();
        loop {
            let path = format!("/api/v1/store/products?after={cursor}&limit={limit}");
            let page: ProductsPage =
                serde_json::from_value(self.ok(Method::GET, &path, None).await?)?;
            all.extend(
                page.products
                    .into_iter()
                    .map(|p| serde_json::to_value(p).unwrap()),
            );
            cursor = page.cursor;
            if !page.has_more {
                return Ok((all, cursor));
            }
        }
    }
}

/// The owner's new key for `store`.
async fn new_key(owner: &Account, store: &str, name: &str) -> anyhow::Result<CreatedApiKey> {
    let body = json!({ "name": name });
    let value = owner
        .request_json(
            Method::POST,
            &format!("/api/store/keys?store={store}"),
            Some(&body),
        )
        .await?;
    Ok(serde_json::from_value(value)?)
}

async fn back_office(server: &TestServer, store: &str) -> anyhow::Result<BackOffice> {
    let owner = server.owner().await?;
    let key = new_key(&owner, store, "ERP").await?;
    Ok(BackOffice::new(&server.base_url, &key.secret))
}

/// The product as shoppers see it (`GET /api/catalog`), if listed.
async fn listed(account: &Account, sku: &str) -> anyhow::Result<Option<Value>> {
    let catalog = account
        .request_json(Method::GET, "/api/catalog?store=demo", None)
        .await?;
    Ok(catalog["products"]
        .as_array()
        .context("products")?
        .iter()
        .find(|p| p["sku"] == sku)
        .cloned())
}

#[tokio::test]
async fn ping_answers_a_good_key_and_refuses_revoked_and_foreign_ones() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let owner = server.owner().await?;
    let created = new_key(&owner, "demo", "ERP").await?;
    assert!(created.secret.starts_with("crk_"));
    assert_eq!(created.key.prefix, &created.secret[..12]);
    let demo = BackOffice::new(&server.base_url, &created.secret);

    let ping = demo.get("/api/v1/store/ping").await?;
    assert_eq!(ping.status, StatusCode::OK, "{}", ping.body);
    assert_eq!(ping.body["store"]["name"], "Cartroom Corner Shop");
    assert_eq!(ping.body["key"]["name"], "ERP");
    // The key's own store named: fine; another store: forbidden.
    assert_eq!(
        demo.get("/api/v1/store/ping?store=demo").await?.status,
        StatusCode::OK
    );
    let foreign = demo.get("/api/v1/store/ping?store=tea").await?;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    assert_eq!(foreign.code(), "forbidden");
    // The tea store's key answers with the tea store.
    let tea = BackOffice::new(
        &server.base_url,
        &new_key(&owner, "tea", "Till").await?.secret,
    );
    assert_eq!(
        tea.get("/api/v1/store/ping").await?.body["store"]["id"],
        "tea"
    );

    // Unknown and missing keys.
    let unknown = BackOffice::new(&server.base_url, "crk_0000");
    let answer = unknown.get("/api/v1/store/ping").await?;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let bare = reqwest::get(format!("{}/api/v1/store/ping", server.base_url)).await?;
    assert_eq!(bare.status(), StatusCode::UNAUTHORIZED);

    // The key was used; revoked, it no longer works (twice: still 204).
    let keys = owner
        .request_json(Method::GET, "/api/store/keys?store=demo", None)
        .await?;
    assert!(keys["keys"][0]["last_used_at"].is_i64(), "{keys}");
    let path = format!("/api/store/keys/{}?store=demo", created.key.id);
    owner.request_json(Method::DELETE, &path, None).await?;
    owner.request_json(Method::DELETE, &path, None).await?;
    let revoked = demo.get("/api/v1/store/ping").await?;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    assert!(
        revoked.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
    let keys = owner
        .request_json(Method::GET, "/api/store/keys?store=demo", None)
        .await?;
    assert!(keys["keys"][0]["revoked_at"].is_i64(), "{keys}");

    // Agents do not manage keys.
    let agent = Account::sign_in(&server.base_url, DEMO_AGENT_EMAIL, DEMO_OWNER_PASSWORD).await?;
    assert!(new_key(&agent, "demo", "Mine").await.is_err());
    Ok(())
}

#[tokio::test]
async fn a_bulk_upsert_applies_the_good_rows_and_reports_the_bad_one() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let api = back_office(&server, "demo").await?;
    let shopper = server.account("Ana").await?;
    let batch = json!({"products": [
        {"sku": "SYNC-1", "name": "Synced Bowl", "price": 900, "stock": 12,
         "group_buy": {"min_quantity": 5, "price": 800}},
        {"sku": "MUG-BLUE", "name": "Blue Mug", "price": 1000, "stock": 500,
         "group_buy": {"min_quantity": 10, "price": 950}},
        {"sku": "SYNC-2", "name": "Bad", "price": -5, "stock": 1},
        {"sku": "SYNC-3", "name": "Wrong money", "price": 5, "stock": 1, "currency": "EUR"},
        {"name": "No sku"}
    ]});
    let results = api
        .ok(Method::POST, "/api/v1/store/products", Some(&batch))
        .await?;
    let statuses: Vec<&str> = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["created", "updated", "error", "error", "error"]);
    assert_eq!(results["results"][2]["sku"], "SYNC-2");
    assert_eq!(results["results"][2]["error"]["code"], "invalid_field");
    assert!(
        results["results"][2]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("price")
    );

    // Shoppers see the new product and the new price at once.
    let bowl = listed(&shopper, "SYNC-1").await?.context("SYNC-1 listed")?;
    assert_eq!(
        (bowl["price"].as_i64(), bowl["stock"].as_i64()),
        (Some(900), Some(12))
    );
    assert_eq!(listed(&shopper, "MUG-BLUE").await?.unwrap()["price"], 1000);
    assert!(listed(&shopper, "SYNC-2").await?.is_none());

    // The same batch again changes nothing.
    let again = api
        .ok(Method::POST, "/api/v1/store/products", Some(&batch))
        .await?;
    assert_eq!(again["results"][0]["status"], "unchanged");
    assert_eq!(again["results"][1]["status"], "unchanged");

    // Over 500 items is refused whole.
    let many: Vec<Value> = (0..501)
        .map(|i| json!({"sku": format!("X{i}"), "name": "x", "price": 1, "stock": 1}))
        .collect();
    let too_many = api
        .send(
            Method::POST,
            "/api/v1/store/products",
            Some(&json!({"products": many})),
            None,
        )
        .await?;
    assert_eq!(too_many.status, StatusCode::BAD_REQUEST);

    // A body not sent as JSON is refused whole, like any of the API's.
    let untyped = api
        .http
        .post(format!("{}/api/v1/store/products", api.base_url))
        .bearer_auth(&api.secret)
        .body(
            json!({"products": [{"sku": "SYNC-4", "name": "Untyped", "price": 1, "stock": 1}]})
                .to_string(),
        )
        .send()
        .await?;
    assert_eq!(untyped.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = untyped.json().await?;
    assert_eq!(body["error"]["code"], "bad_message");
    assert!(listed(&shopper, "SYNC-4").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn an_idempotency_key_replays_the_answer_and_refuses_another_request() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let api = back_office(&server, "demo").await?;
    let shopper = server.account("Ana").await?;
    let path = "/api/v1/store/products";
    let batch = json!({"products": [{"sku": "IDEM-1", "name": "Jar", "price": 500, "stock": 7}]});
    let first = api
        .send(Method::POST, path, Some(&batch), Some("sync-1"))
        .await?;
    assert_eq!(first.status, StatusCode::OK);
    assert!(!first.replayed);
    assert_eq!(first.body["results"][0]["status"], "created");

    // The stock moves on; the replay neither applies the batch again nor
    // answers "unchanged": it is the first answer.
    api.ok(
        Method::PATCH,
        "/api/v1/store/products/IDEM-1",
        Some(&json!({"stock": 3})),
    )
    .await?;
    let replay = api
        .send(Method::POST, path, Some(&batch), Some("sync-1"))
        .await?;
    assert_eq!(replay.status, StatusCode::OK);
    assert!(replay.replayed);
    assert_eq!(replay.body, first.body);
    assert_eq!(listed(&shopper, "IDEM-1").await?.unwrap()["stock"], 3);

    // Another body, or another path, with the key: a conflict.
    let other = json!({"products": [{"sku": "IDEM-1", "name": "Jar", "price": 501, "stock": 7}]});
    let conflict = api
        .send(Method::POST, path, Some(&other), Some("sync-1"))
        .await?;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert_eq!(conflict.code(), "idempotency_conflict");
    let elsewhere = api
        .send(
            Method::DELETE,
            "/api/v1/store/products/IDEM-1",
            None,
            Some("sync-1"),
        )
        .await?;
    assert_eq!(elsewhere.code(), "idempotency_conflict");

    // A refusal is kept too: the same bad request answers the same.
    let bad = json!({"stock": -1});
    let refused = api
        .send(
            Method::PATCH,
            "/api/v1/store/products/IDEM-1",
            Some(&bad),
            Some("bad-1"),
        )
        .await?;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let again = api
        .send(
            Method::PATCH,
            "/api/v1/store/products/IDEM-1",
            Some(&bad),
            Some("bad-1"),
        )
        .await?;
    assert!(again.replayed);
    assert_eq!(again.body, refused.body);
    Ok(())
}

#[tokio::test]
async fn a_partial_update_changes_only_its_fields_and_delete_unlists() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let api = back_office(&server, "demo").await?;
    let shopper = server.account("Ana").await?;

    let stock_only = api
        .ok(
            Method::PATCH,
            "/api/v1/store/products/MUG-RED",
            Some(&json!({"stock": 4})),
        )
        .await?;
    assert_eq!(
        (stock_only["stock"].as_i64(), stock_only["price"].as_i64()),
        (Some(4), Some(1200))
    );
    let red = listed(&shopper, "MUG-RED").await?.unwrap();
    assert_eq!(
        (red["stock"].as_i64(), red["price"].as_i64()),
        (Some(4), Some(1200))
    );
    assert_eq!(red["name"], "Red Mug");

    api.ok(
        Method::PATCH,
        "/api/v1/store/products/MUG-RED",
        Some(&json!({"price": 1100, "group_buy": null})),
    )
    .await?;
    let red = listed(&shopper, "MUG-RED").await?.unwrap();
    assert_eq!(
        (red["stock"].as_i64(), red["price"].as_i64()),
        (Some(4), Some(1100))
    );
    assert!(red["group_buy"].is_null());

    let unknown = api
        .send(
            Method::PATCH,
            "/api/v1/store/products/NOPE",
            Some(&json!({"stock": 1})),
            None,
        )
        .await?;
    assert_eq!(
        (unknown.status, unknown.code()),
        (StatusCode::NOT_FOUND, "not_found")
    );

    // Unlisted: gone from the catalog, shown as deleted to the sync; a
    // cart holding it keeps the line, and its quote says it is not sold.
    let cart = shopper.create_cart("Kitchen").await?;
    edit(
        &shopper,
        cart,
        Op::AddLine {
            sku: "MUG-RED".into(),
            quantity: 1,
        },
    )
    .await?;
    let (_, cursor) = api.products_from("", 100).await?;
    let deleted = api
        .send(Method::DELETE, "/api/v1/store/products/MUG-RED", None, None)
        .await?;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(listed(&shopper, "MUG-RED").await?.is_none());
    let quote = shopper.quote(cart).await?;
    assert_eq!(quote.lines.len(), 1, "the line stays");
    assert!(
        quote
            .blockers
            .iter()
            .any(|b| b.code == ErrorCode::UnknownSku),
        "{:?}",
        quote.blockers
    );
    let again = api
        .send(Method::DELETE, "/api/v1/store/products/MUG-RED", None, None)
        .await?;
    assert_eq!(again.status, StatusCode::NO_CONTENT);
    let (changes, _) = api.products_from(&cursor, 100).await?;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        (changes[0]["sku"].as_str(), changes[0]["deleted"].as_bool()),
        (Some("MUG-RED"), Some(true))
    );
    // A patch of an unlisted product: not found; an upsert lists it again.
    let patch = api
        .send(
            Method::PATCH,
            "/api/v1/store/products/MUG-RED",
            Some(&json!({"stock": 1})),
            None,
        )
        .await?;
    assert_eq!(patch.status, StatusCode::NOT_FOUND);
    let back =
        json!({"products": [{"sku": "MUG-RED", "name": "Red Mug", "price": 1100, "stock": 9}]});
    api.ok(Method::POST, "/api/v1/store/products", Some(&back))
        .await?;
    assert_eq!(listed(&shopper, "MUG-RED").await?.unwrap()["stock"], 9);
    Ok(())
}

#[tokio::test]
async fn the_products_cursor_pages_every_change_once() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let api = back_office(&server, "demo").await?;
    let (small_pages, cursor) = api.products_from("", 3).await?;
    let (one_page, same_cursor) = api.products_from("", 500).await?;
    assert_eq!(small_pages, one_page);
    assert_eq!(cursor, same_cursor);
    let skus: HashSet<&str> = small_pages
        .iter()
        .map(|p| p["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus.len(), small_pages.len(), "no product twice");
    assert!(skus.contains("MUG-BLUE") && skus.contains("TEA-GREEN"));
    assert!(
        small_pages.iter().all(|p| p["currency"] == "USD"),
        "only the key's store"
    );

    // Nothing new since: an empty page with the same cursor.
    let (none, still) = api.products_from(&cursor, 3).await?;
    assert!(none.is_empty());
    assert_eq!(still, cursor);
    // A change shows once after the cursor, with its time.
    api.ok(
        Method::PATCH,
        "/api/v1/store/products/TEA-GREEN",
        Some(&json!({"price": 600})),
    )
    .await?;
    let (changed, _) = api.products_from(&cursor, 3).await?;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0]["price"], 600);
    let at = changed[0]["updated_at"].as_i64().unwrap();
    // updated_since filters by that time.
    let since = api
        .ok(
            Method::GET,
            &format!("/api/v1/store/products?updated_since={at}"),
            None,
        )
        .await?;
    let skus: Vec<&str> = since["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus, ["TEA-GREEN"]);
    let later = api
        .ok(
            Method::GET,
            &format!("/api/v1/store/products?updated_since={}", at + 1),
            None,
        )
        .await?;
    assert!(later["products"].as_array().unwrap().is_empty());
    // A cursor that was never given is refused.
    let bad = api.get("/api/v1/store/products?after=abc").await?;
    assert_eq!(bad.code(), "invalid_field");
    Ok(())
}

#[tokio::test]
async fn customers_are_imported_by_e_mail_and_linked_when_they_sign_up() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let api = back_office(&server, "demo").await?;
    let known = server.account("Kim").await?;
    let known_email = known.email.clone().unwrap();
    let newcomer = format!("lee-{}@example.com", uuid::Uuid::new_v4().simple());
    let batch = json!({"customers": [
        {"email": known_email.to_uppercase(), "name": "Kim K.", "external_id": "C-1"},
        {"email": newcomer, "name": "Lee", "external_id": "C-2"},
        {"email": "not an e-mail", "name": "Bad"}
    ]});
    let results = api
        .ok(Method::POST, "/api/v1/store/customers", Some(&batch))
        .await?;
    let statuses: Vec<&str> = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["created", "created", "error"]);
    assert_eq!(results["results"][2]["error"]["code"], "invalid_field");
    let again = api
        .ok(Method::POST, "/api/v1/store/customers", Some(&batch))
        .await?;
    assert_eq!(again["results"][0]["status"], "unchanged");

    let page: CustomersPage = serde_json::from_value(
        api.ok(Method::GET, "/api/v1/store/customers?limit=1", None)
            .await?,
    )?;
    assert_eq!(page.customers.len(), 1);
    assert!(page.has_more);
    let rest: CustomersPage = serde_json::from_value(
        api.ok(
            Method::GET,
            &format!("/api/v1/store/customers?after={}", page.cursor),
            None,
        )
        .await?,
    )?;
    assert!(!rest.has_more);
    let all: Vec<_> = page.customers.iter().chain(&rest.customers).collect();
    assert_eq!(all.len(), 2);
    let kim = all
        .iter()
        .find(|c| c.external_id.as_deref() == Some("C-1"))
        .unwrap();
    assert!(kim.linked);
    assert_eq!(kim.name, "Kim K.");
    let lee = all
        .iter()
        .find(|c| c.external_id.as_deref() == Some("C-2"))
        .unwrap();
    assert!(!lee.linked);

    // Lee signs up: the customer is linked, and shows again after the cursor.
    Account::sign_up(&server.base_url, &newcomer, PASSWORD, "Lee").await?;
    let after: CustomersPage = serde_json::from_value(
        api.ok(
            Method::GET,
            &format!("/api/v1/store/customers?after={}", rest.cursor),
            None,
        )
        .await?,
    )?;
    assert_eq!(after.customers.len(), 1);
    assert_eq!(after.customers[0].external_id.as_deref(), Some("C-2"));
    assert!(after.customers[0].linked);
    Ok(())
}

async fn edit(account: &Account, cart: CartId, op: Op) -> anyhow::Result<()> {
    let op_id = OpId(format!("t-{}", uuid::Uuid::new_v4().simple()));
    account.http_op(cart, &op_id, &op).await?;
    Ok(())
}

/// A one-line cart of `account`, locked and ordered; the order's id.
async fn place(account: &Account) -> anyhow::Result<(CartId, String)> {
    let cart = account.create_cart("Order").await?;
    edit(
        account,
        cart,
        Op::AddLine {
            sku: "MUG-BLUE".into(),
            quantity: 1,
        },
    )
    .await?;
    edit(account, cart, Op::Lock).await?;
    let quote = account.quote(cart).await?;
    Ok((cart, account.place_order(cart, quote.total).await?.id))
}

impl BackOffice {
    async fn orders_page(&self, after: &str, limit: usize) -> anyhow::Result<StoreOrdersPage> {
        let path = format!("/api/v1/store/orders?after={after}&limit={limit}");
        Ok(serde_json::from_value(
            self.ok(Method::GET, &path, None).await?,
        )?)
    }
}

#[tokio::test]
async fn the_back_office_confirms_an_order_of_its_store_only() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let api = back_office(&server, "demo").await?;
    let ana = server.account("Ana").await?;
    let (cart, id) = place(&ana).await?;
    let page = api.orders_page("", 10).await?;
    assert_eq!(page.orders.len(), 1);
    assert_eq!(page.orders[0].id, id);
    assert_eq!(page.orders[0].status.as_str(), "pending");

    let path = format!("/api/v1/store/orders/{id}/status");
    let confirmed = api
        .ok(Method::POST, &path, Some(&json!({"status": "confirmed"})))
        .await?;
    assert_eq!(confirmed["status"], "confirmed");
    let activity = ana.activity(cart).await?;
    assert!(
        activity
            .iter()
            .any(|e| e.user_name.contains("Back office (ERP)")
                || e.text.contains("Back office (ERP)")),
        "{activity:?}"
    );
    // Another store's key does not see it.
    let tea = back_office(&server, "tea").await?;
    let foreign = tea
        .send(
            Method::POST,
            &path,
            Some(&json!({"status": "cancelled"})),
            None,
        )
        .await?;
    assert_eq!(
        (foreign.status, foreign.code()),
        (StatusCode::NOT_FOUND, "order_not_found")
    );
    assert!(tea.orders_page("", 10).await?.orders.is_empty());
    Ok(())
}

/// Places `orders` orders at once (each by its own shopper) while paging
/// the export with `limit`; every order is seen exactly once.
async fn page_while_placing(
    server: &TestServer,
    api: &BackOffice,
    orders: usize,
    limit: usize,
) -> anyhow::Result<()> {
    let (mut cursor, mut before) = (String::new(), 0);
    loop {
        let page = api.orders_page(&cursor, 100).await?;
        before += page.orders.len();
        cursor = page.cursor;
        if !page.has_more {
            break;
        }
    }
    let mut shoppers = Vec::new();
    for _ in 0..orders {
        shoppers.push(server.account("Shopper").await?);
    }
    let placing = tokio::spawn(async move {
        let placed = futures_util::future::join_all(shoppers.iter().map(place)).await;
        placed
            .into_iter()
            .map(|r| r.map(|(_, id)| id))
            .collect::<anyhow::Result<HashSet<_>>>()
    });
    let mut seen = Vec::new();
    loop {
        let finished = placing.is_finished();
        let page = api.orders_page(&cursor, limit).await?;
        seen.extend(page.orders.into_iter().map(|o| o.id));
        cursor = page.cursor;
        // Every order was committed before this page was asked for: "no
        // more" means everything was read.
        if finished && !page.has_more {
            break;
        }
        // Pacing for the key's rate limit, not synchronisation.
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    }
    let placed = placing.await??;
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "an order was listed twice (before: {before})"
    );
    assert_eq!(
        unique, placed,
        "every order placed is listed, and only those"
    );
    Ok(())
}

#[test]
fn the_order_cursor_never_skips_or_repeats_while_orders_are_placed() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (server, api) = runtime
        .block_on(async {
            let server = TestServer::start_with(|c| {
                c.accounts_per_hour_per_ip = 10_000;
                c.http_ops_per_second = 10_000;
            })
            .await?;
            let api = back_office(&server, "demo").await?;
            anyhow::Ok((server, api))
        })
        .unwrap();
    let config = ProptestConfig {
        cases: 8,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(orders in 1usize..=5, limit in 1usize..=3)| {
        runtime
            .block_on(page_while_placing(&server, &api, orders, limit))
            .map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
    });
    runtime.block_on(server.stop()).unwrap();
}

#[tokio::test]
async fn a_guest_known_to_the_support_desk_who_signs_up_keeps_one_customer() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let api = back_office(&server, "demo").await?;
    // A guest chats with the store: the support desk makes them a customer.
    let guest = Account::guest(&server.base_url, "Robin").await?;
    guest
        .request_json(
            Method::POST,
            "/api/support/conversations",
            Some(&json!({"store_id": "demo"})),
        )
        .await?;
    let (_, start) = customers_from(&api, "").await?;
    // The back office imports the e-mail the guest signs up with later.
    let email = format!("robin-{}@example.com", uuid::Uuid::new_v4().simple());
    let batch = json!({"customers": [{"email": email, "name": "Robin R.", "external_id": "C-9"}]});
    api.ok(Method::POST, "/api/v1/store/customers", Some(&batch))
        .await?;
    guest.upgrade_guest(&email, PASSWORD, "Robin").await?;
    // One customer: the guest's, linked, with the import's external id.
    let (all, _) = customers_from(&api, "").await?;
    let robins: Vec<&Value> = all.iter().filter(|c| c["external_id"] == "C-9").collect();
    assert_eq!(robins.len(), 1, "{all:?}");
    assert_eq!(robins[0]["linked"], true);
    let (changed, _) = customers_from(&api, &start).await?;
    assert!(
        changed.iter().any(|c| c["external_id"] == "C-9"),
        "{changed:?}"
    );
    Ok(())
}

/// Every customer changed after `after`, and the last cursor.
async fn customers_from(api: &BackOffice, after: &str) -> anyhow::Result<(Vec<Value>, String)> {
    let mut cursor = after.to_owned();
    let mut all = Vec::new();
    loop {
        let path = format!("/api/v1/store/customers?after={cursor}&limit=2");
        let page: CustomersPage = serde_json::from_value(api.ok(Method::GET, &path, None).await?)?;
        all.extend(
            page.customers
                .iter()
                .map(|c| serde_json::to_value(c).unwrap()),
        );
        cursor = page.cursor;
        if !page.has_more {
            return Ok((all, cursor));
        }
    }
}

#[tokio::test]
async fn synced_pictures_and_unlisting_survive_a_restart() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let api = back_office(&server, "demo").await?;
    let picture = "https://cdn.example/bowl.png";
    let batch = json!({"products": [
        {"sku": "BOWL-1", "name": "Bowl", "price": 900, "stock": 3, "image_url": picture}
    ]});
    api.ok(Method::POST, "/api/v1/store/products", Some(&batch))
        .await?;
    api.ok(Method::DELETE, "/api/v1/store/products/MUG-RED", None)
        .await?;
    let data_dir = server.data_dir.clone();
    let dir = server.stop().await?;
    let server = TestServer::start_in(&data_dir, dir).await?;
    let shopper = server.account("Ana").await?;
    let bowl = listed(&shopper, "BOWL-1")
        .await?
        .context("the bowl after a restart")?;
    assert_eq!(bowl["image_url"], picture);
    assert!(listed(&shopper, "MUG-RED").await?.is_none());
    Ok(())
}
