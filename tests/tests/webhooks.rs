//! Webhooks end to end (`docs/protocol.md` section 15): a receiver started
//! by the test gets every event signed; a receiver answering 500, or down,
//! gets the event again with the same id; a server killed with SIGKILL
//! loses no event and its duplicates carry the same id; an endpoint that
//! keeps failing is disabled and the store's owner gets an e-mail.
//!
//! Back-off, give-up window and debounce are short by configuration, so
//! nothing here waits for a timer of its own: every wait is for a delivery
//! or a state, bounded.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use cartroom_client::{Account, api_error};
use cartroom_e2e::receiver::{Delivery, Receiver};
use cartroom_e2e::smtp::SmtpServer;
use cartroom_e2e::{
    DEMO_AGENT_EMAIL, DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD, ServerProcess, TestServer,
};
use cartroom_protocol::checkout::OrderStatus;
use cartroom_protocol::webhooks::{
    CreatedWebhook, WebhookDeliveriesResponse, WebhookDelivery, WebhookEndpointView,
    WebhookEndpointsResponse, WebhookEvent, WebhookEventType,
};
use cartroom_protocol::{CartId, ErrorCode, LineId, Op, OpId};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

/// The longest any single delivery may take to show up.
const WITHIN: Duration = Duration::from_secs(10);

/// Registers an endpoint for `events` as the demo store's owner.
async fn register(owner: &Account, url: &str, events: &[&str]) -> anyhow::Result<CreatedWebhook> {
    let answer = owner
        .request_json(
            Method::POST,
            "/api/store/webhooks?store=demo",
            Some(&json!({ "url": url, "events": events })),
        )
        .await?;
    Ok(serde_json::from_value(answer)?)
}

async fn endpoint(owner: &Account, id: &str) -> anyhow::Result<WebhookEndpointView> {
    let list = owner
        .request_json(Method::GET, "/api/store/webhooks?store=demo", None)
        .await?;
    let list: WebhookEndpointsResponse = serde_json::from_value(list)?;
    list.endpoints
        .into_iter()
        .find(|e| e.id == id)
        .ok_or_else(|| anyhow::anyhow!("no endpoint {id}"))
}

async fn deliveries(owner: &Account, id: &str) -> anyhow::Result<WebhookDeliveriesResponse> {
    let path = format!("/api/store/webhooks/{id}/deliveries?store=demo");
    Ok(serde_json::from_value(
        owner.request_json(Method::GET, &path, None).await?,
    )?)
}

/// The endpoint's log once every attempt in it has ended (the receiver
/// hears a request before the server records its answer).
async fn settled_log(owner: &Account, id: &str) -> anyhow::Result<Vec<WebhookDelivery>> {
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        let log = deliveries(owner, id).await?.deliveries;
        if log
            .iter()
            .all(|d| d.duration_ms.is_some() || d.error.is_some())
        {
            return Ok(log);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "attempts never ended: {log:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An op over HTTP that must be accepted.
async fn ok(account: &Account, cart: CartId, op: Op) -> anyhow::Result<()> {
    let op_id = OpId(format!("t-{}", uuid::Uuid::new_v4().simple()));
    account.http_op(cart, &op_id, &op).await?;
    Ok(())
}

fn add(sku: &str, quantity: i64) -> Op {
    Op::AddLine {
        sku: sku.into(),
        quantity,
    }
}

/// Checks the delivery's signature with the endpoint's secret, the way a
/// receiver does, and returns its event.
fn verified(delivery: &Delivery, secret: &str) -> WebhookEvent {
    let timestamp = delivery.header("cartroom-webhook-timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&delivery.body);
    let expected = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(delivery.header("cartroom-webhook-signature"), expected);
    assert!(
        timestamp.parse::<i64>().is_ok_and(|t| t > 1_600_000_000),
        "{timestamp}"
    );
    let event: WebhookEvent = serde_json::from_slice(&delivery.body).expect("a webhook event");
    assert_eq!(delivery.header("cartroom-webhook-id"), event.id);
    assert_eq!(event.store_id, "demo");
    event
}

/// Waits until `check` holds for the endpoint, polling its view.
async fn until_endpoint(
    owner: &Account,
    id: &str,
    what: &str,
    check: impl Fn(&WebhookEndpointView) -> bool,
) -> anyhow::Result<WebhookEndpointView> {
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        let view = endpoint(owner, id).await?;
        if check(&view) {
            return Ok(view);
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "{what}: {view:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn every_event_arrives_signed_and_only_owners_manage_endpoints() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| {
        c.webhook_private_targets = true;
        c.webhook_retry_base_ms = 50;
        c.webhook_debounce_ms = 2000;
    })
    .await?;
    let owner = server.owner().await?;
    let mut receiver = Receiver::start().await?;
    let all: Vec<&str> = WebhookEventType::ALL.iter().map(|t| t.as_str()).collect();
    let created = register(&owner, &receiver.url(), &all).await?;
    assert!(created.secret.starts_with("whsec_"), "{}", created.secret);
    assert!(created.endpoint.enabled && created.endpoint.disabled_reason.is_none());
    assert_eq!(created.endpoint.events, WebhookEventType::ALL);
    let listed = owner
        .request_json(Method::GET, "/api/store/webhooks?store=demo", None)
        .await?;
    assert!(
        !listed.to_string().contains(&created.secret),
        "the secret is shown once"
    );

    // Agents do not manage webhooks; URLs are http(s); events are known.
    let agent = Account::sign_in(&server.base_url, DEMO_AGENT_EMAIL, DEMO_OWNER_PASSWORD).await?;
    let refused = agent
        .request_json(Method::GET, "/api/store/webhooks?store=demo", None)
        .await;
    assert_eq!(code(refused), Some(ErrorCode::Forbidden));
    let bad_url = register(&owner, "ftp://shop.example/hooks", &["order.created"]).await;
    assert_eq!(code(bad_url), Some(ErrorCode::InvalidField));
    let bad_event = register(&owner, &receiver.url(), &["order.shipped"]).await;
    assert!(bad_event.is_err(), "an unknown event type was taken");

    // Ana's cart: Ben joins with a link, two adds become one event.
    let ana = server.account("Ana").await?;
    let ben = server.account("Ben").await?;
    let cart = ana.create_cart("Picnic").await?;
    let link = ana
        .request_json(
            Method::POST,
            &format!("/api/carts/{cart}/links"),
            Some(&json!({ "role": "editor" })),
        )
        .await?;
    ben.request_json(
        Method::POST,
        "/api/invites/accept",
        Some(&json!({ "token": link["token"] })),
    )
    .await?;
    ok(&ana, cart, add("MUG-BLUE", 2)).await?;
    ok(&ben, cart, add("MUG-RED", 1)).await?;

    let mut events: HashMap<WebhookEventType, WebhookEvent> = HashMap::new();
    let take = |delivery: &Delivery, events: &mut HashMap<WebhookEventType, WebhookEvent>| {
        let event = verified(delivery, &created.secret);
        events.insert(event.kind, event);
    };
    let shared = receiver.next_of("share.accepted", WITHIN).await?;
    take(&shared, &mut events);
    let added = receiver.next_of("cart.item_added", WITHIN).await?;
    take(&added, &mut events);
    let items = &events[&WebhookEventType::CartItemAdded].data["items"];
    assert_eq!(
        items,
        &json!([
            {"sku": "MUG-BLUE", "name": "Blue Mug", "quantity": 2},
            {"sku": "MUG-RED", "name": "Red Mug", "quantity": 1},
        ]),
        "the adds of the debounce window are one event"
    );

    ok(
        &ana,
        cart,
        Op::ChangeQuantity {
            line_id: LineId("MUG-BLUE".into()),
            delta: -1,
        },
    )
    .await?;
    take(
        &receiver.next_of("cart.item_removed", WITHIN).await?,
        &mut events,
    );
    ok(&ana, cart, Op::Lock).await?;
    take(&receiver.next_of("cart.locked", WITHIN).await?, &mut events);
    ok(
        &ana,
        cart,
        Op::SetBudget {
            user_id: ana.user_id,
            amount: Some(100),
        },
    )
    .await?;
    take(
        &receiver.next_of("budget.exceeded", WITHIN).await?,
        &mut events,
    );
    let total = ana.quote(cart).await?.total;
    let order = ana.place_order(cart, total).await?;
    take(
        &receiver.next_of("order.created", WITHIN).await?,
        &mut events,
    );
    owner
        .set_order_status(&order.id, OrderStatus::Confirmed)
        .await?;
    take(
        &receiver.next_of("order.status_changed", WITHIN).await?,
        &mut events,
    );

    let ev = |t: WebhookEventType| &events[&t].data;
    assert_eq!(ev(WebhookEventType::ShareAccepted)["via"], "link");
    assert_eq!(
        ev(WebhookEventType::ShareAccepted)["user_id"],
        json!(ben.user_id)
    );
    assert_eq!(
        ev(WebhookEventType::CartItemRemoved)["items"][0]["quantity"],
        1
    );
    assert_eq!(ev(WebhookEventType::CartLocked)["cart_id"], json!(cart));
    // The lock left the name alone: the store reads it from the cart's row.
    assert_eq!(ev(WebhookEventType::CartLocked)["cart_name"], "Picnic");
    assert_eq!(ev(WebhookEventType::BudgetExceeded)["budget"], 100);
    assert_eq!(
        ev(WebhookEventType::OrderCreated)["order"]["id"],
        json!(order.id)
    );
    assert_eq!(
        ev(WebhookEventType::OrderStatusChanged)["status"],
        "confirmed"
    );
    assert_eq!(
        ev(WebhookEventType::OrderStatusChanged)["previous_status"],
        "pending"
    );
    let ids: HashSet<&str> = events.values().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), 7, "every event has an id of its own");

    // The delivery log lists each attempt, newest first.
    let log = settled_log(&owner, &created.endpoint.id).await?;
    assert!(log.len() >= 7, "{log:?}");
    assert!(log.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    assert!(
        log.iter().all(|d| d.status == Some(200) && d.attempt == 1),
        "{log:?}"
    );

    // Deleted, it gets nothing more and has no log.
    let path = format!("/api/store/webhooks/{}?store=demo", created.endpoint.id);
    owner.request_json(Method::DELETE, &path, None).await?;
    assert_eq!(
        code(deliveries(&owner, &created.endpoint.id).await),
        Some(ErrorCode::NotFound)
    );
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_500_then_a_receiver_that_was_down_get_the_same_event_again() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| {
        c.webhook_private_targets = true;
        c.webhook_retry_base_ms = 50;
        c.webhook_debounce_ms = 0;
    })
    .await?;
    let owner = server.owner().await?;
    let mut receiver = Receiver::start().await?;
    receiver.answer(&[500, 503]);
    let created = register(&owner, &receiver.url(), &["cart.item_added"]).await?;
    let ana = server.account("Ana").await?;
    let cart = ana.create_cart("Retries").await?;
    ok(&ana, cart, add("MUG-BLUE", 1)).await?;
    let first = receiver.next(WITHIN).await?;
    let second = receiver.next(WITHIN).await?;
    let third = receiver.next(WITHIN).await?;
    assert_eq!(
        [first.answered, second.answered, third.answered],
        [Some(500), Some(503), Some(200)]
    );
    let id = verified(&first, &created.secret).id;
    assert_eq!(verified(&second, &created.secret).id, id);
    assert_eq!(verified(&third, &created.secret).id, id);
    assert_eq!(first.json()["data"], third.json()["data"], "the same body");
    let log = settled_log(&owner, &created.endpoint.id).await?;
    let attempts: Vec<(u32, Option<u16>)> = log.iter().map(|d| (d.attempt, d.status)).collect();
    assert_eq!(attempts, [(3, Some(200)), (2, Some(503)), (1, Some(500))]);
    assert!(
        log[1].error.as_deref().is_some_and(|e| e.contains("503")),
        "{log:?}"
    );
    until_endpoint(&owner, &created.endpoint.id, "failing cleared", |e| {
        e.failing_since.is_none()
    })
    .await?;

    // The receiver goes down: attempts fail to connect, then it comes back.
    let addr = receiver.addr;
    receiver.stop();
    ok(&ana, cart, add("MUG-RED", 1)).await?;
    let failing = until_endpoint(&owner, &created.endpoint.id, "a failed attempt", |e| {
        e.failing_since.is_some()
    })
    .await?;
    assert!(failing.enabled);
    let mut receiver = Receiver::start_on(addr).await?;
    let back = receiver.next(WITHIN).await?;
    let event = verified(&back, &created.secret);
    assert_eq!(event.data["items"][0]["sku"], "MUG-RED");
    let log = settled_log(&owner, &created.endpoint.id).await?;
    let mine: Vec<_> = log.iter().filter(|d| d.event_id == event.id).collect();
    assert!(mine.len() >= 2, "{log:?}");
    assert!(
        mine[1..]
            .iter()
            .all(|d| d.status.is_none() && d.error.is_some()),
        "{log:?}"
    );
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_hanging_endpoint_does_not_hold_up_another() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| {
        c.webhook_private_targets = true;
        c.webhook_retry_base_ms = 50;
        c.webhook_debounce_ms = 0;
    })
    .await?;
    let owner = server.owner().await?;
    let mut hanging = Receiver::start().await?;
    hanging.hold(true);
    let mut healthy = Receiver::start().await?;
    register(&owner, &hanging.url(), &["cart.item_added"]).await?;
    let created = register(&owner, &healthy.url(), &["cart.item_added"]).await?;
    let ana = server.account("Ana").await?;
    // More events than deliveries in flight at once, over all endpoints.
    const CARTS: usize = 20;
    for i in 0..CARTS {
        let cart = ana.create_cart(&format!("Cart {i}")).await?;
        ok(&ana, cart, add("MUG-BLUE", 1)).await?;
    }
    let mut ids = HashSet::new();
    while ids.len() < CARTS {
        let delivery = healthy.next(WITHIN).await?;
        ids.insert(verified(&delivery, &created.secret).id);
    }
    // The hanging endpoint has a few deliveries in flight, never all slots.
    let mut held = 0;
    while hanging.next(Duration::from_millis(200)).await.is_ok() {
        held += 1;
    }
    assert!(
        (1..=4).contains(&held),
        "{held} deliveries in flight to one endpoint"
    );
    hanging.stop();
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_kill_9_loses_no_event_and_duplicates_keep_their_id() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let args = [
        "--webhook-private-targets",
        "--webhook-retry-base-ms",
        "50",
        "--webhook-debounce-ms",
        "0",
    ];
    let process = ServerProcess::start_with_args(dir.path(), &args).await?;
    let owner = Account::sign_in(&process.base_url, DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD).await?;
    let mut receiver = Receiver::start().await?;
    // The receiver takes requests and never answers: deliveries are in
    // flight when the server dies.
    receiver.hold(true);
    let created = register(&owner, &receiver.url(), &["cart.item_added"]).await?;
    let ana = cartroom_e2e::sign_up(&process.base_url, "Ana").await?;
    const CARTS: usize = 4;
    for i in 0..CARTS {
        let cart = ana.create_cart(&format!("Cart {i}")).await?;
        ok(&ana, cart, add("MUG-BLUE", 1)).await?;
    }
    let held = receiver.next(WITHIN).await?;
    let held_id = verified(&held, &created.secret).id;
    process.kill_9().await?;

    receiver.hold(false);
    let process = ServerProcess::start_with_args(dir.path(), &args).await?;
    let mut bodies: HashMap<String, Value> = HashMap::new();
    let mut carts = HashSet::new();
    while carts.len() < CARTS {
        let delivery = receiver.next(WITHIN).await?;
        let event = verified(&delivery, &created.secret);
        carts.insert(event.data["cart_id"].to_string());
        if let Some(known) = bodies.insert(event.id.clone(), delivery.json()) {
            assert_eq!(known, delivery.json(), "a duplicate has the same body");
        }
    }
    assert_eq!(
        bodies.len(),
        CARTS,
        "one id per event, however often it came"
    );
    assert!(
        bodies.contains_key(&held_id),
        "the delivery cut by the kill came again"
    );
    let owner = Account::sign_in(&process.base_url, DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD).await?;
    let log = settled_log(&owner, &created.endpoint.id).await?;
    assert!(
        log.iter().any(|d| d.event_id == held_id
            && d.error
                .as_deref()
                .is_some_and(|e| e.contains("interrupted"))),
        "{log:?}"
    );
    process.terminate().await?;
    Ok(())
}

#[tokio::test]
async fn an_endpoint_failing_past_the_window_is_disabled_and_the_owner_told() -> anyhow::Result<()>
{
    let mut smtp = SmtpServer::start().await?;
    let smtp_url = smtp.url();
    let server = TestServer::start_with(|c| {
        c.webhook_private_targets = true;
        c.webhook_retry_base_ms = 50;
        c.webhook_debounce_ms = 0;
        c.webhook_give_up_secs = 1;
        c.smtp_url = Some(smtp_url);
    })
    .await?;
    let owner = server.owner().await?;
    let mut receiver = Receiver::start().await?;
    receiver.answer(&[500; 1000]);
    let created = register(&owner, &receiver.url(), &["cart.item_added"]).await?;
    let ana = server.account("Ana").await?;
    let cart = ana.create_cart("Doomed").await?;
    ok(&ana, cart, add("MUG-BLUE", 1)).await?;
    assert_eq!(receiver.next(WITHIN).await?.answered, Some(500));
    let disabled = until_endpoint(&owner, &created.endpoint.id, "disabled", |e| !e.enabled).await?;
    let reason = disabled.disabled_reason.expect("a reason");
    assert!(reason.contains("500"), "{reason}");
    assert!(disabled.failing_since.is_some());
    let mail = smtp.next_mail(WITHIN).await?;
    assert_eq!(mail.to, [DEMO_OWNER_EMAIL]);
    let text = mail.decoded();
    assert!(
        text.contains("disabled") && text.contains(&receiver.url()),
        "{text}"
    );
    assert!(
        text.contains("/#/backoffice"),
        "a link to the back office: {text}"
    );

    // Enabled again by its owner, it is failing no more.
    let path = format!("/api/store/webhooks/{}?store=demo", created.endpoint.id);
    let enabled = owner
        .request_json(Method::PATCH, &path, Some(&json!({ "enabled": true })))
        .await?;
    let enabled: WebhookEndpointView = serde_json::from_value(enabled)?;
    assert!(
        enabled.enabled && enabled.disabled_reason.is_none() && enabled.failing_since.is_none()
    );
    server.stop().await?;
    Ok(())
}

/// The stable code of a refused request.
fn code<T>(outcome: anyhow::Result<T>) -> Option<ErrorCode> {
    outcome
        .err()
        .and_then(|e| api_error(&e).and_then(|a| a.error_code()))
}

#[tokio::test]
async fn by_default_an_endpoint_inside_the_servers_network_is_refused() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let owner = server.owner().await?;
    for url in [
        "http://127.0.0.1:9000/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://10.0.0.8/hook",
    ] {
        assert_eq!(
            code(register(&owner, url, &["order.created"]).await),
            Some(ErrorCode::InvalidField),
            "{url}"
        );
    }
    register(&owner, "https://shop.example/hooks", &["order.created"]).await?;
    Ok(())
}
