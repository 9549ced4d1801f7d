//! Webhooks on Postgres, through the traits: endpoints, an event's life
//! (claimed, sealed, retried, delivered), and what several nodes bring:
//! two claiming at once, a node leaving with claims, a live node's claims
//! left alone by another's start-up.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use cartroom_protocol::CartId;
use cartroom_protocol::checkout::{OrderLine, SplitPlan};
use cartroom_protocol::webhooks::WebhookEventType as T;

use super::claims::INTERRUPTED;
use crate::store::postgres::testing::{NODE, base_url, fresh};
use crate::store::postgres::{PgSettings, PgStore};
use crate::store::webhooks::{AfterFailure, AttemptOutcome, EndpointChange, NewEndpoint};
use crate::store::{NewOrder, Orders, Webhooks};

async fn exec(store: &PgStore, sql: &str) {
    sqlx::query(sql).execute(&store.pool).await.unwrap();
}

/// Another node on the same schema as `store`.
async fn other_node(store: &PgStore) -> PgStore {
    let schema: String = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    let base = base_url();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let settings = PgSettings {
        node: format!("{NODE}-2"),
        commit_batch: 512,
        webhook_debounce_ms: 2000,
    };
    PgStore::open(&url, settings).await.unwrap()
}

fn endpoint(id: &str, events: &[T]) -> NewEndpoint {
    NewEndpoint {
        id: id.to_owned(),
        store_id: "demo".to_owned(),
        url: format!("https://example.com/{id}"),
        events: events.to_vec(),
        secret: "whsec".to_owned(),
        now_ms: 10,
    }
}

fn outcome(status: Option<u16>) -> AttemptOutcome {
    AttemptOutcome {
        status,
        error: status.is_none().then(|| "refused".to_owned()),
        duration_ms: 7,
    }
}

/// `count` events of `demo`, each with a send due at 100 to every endpoint.
async fn events(store: &PgStore, count: usize) {
    for i in 0..count {
        sqlx::query(
            "INSERT INTO webhook_events (id, store_id, type, created_at, data, open_until)
             VALUES ($1, 'demo', 'order.created', $2, '{}', 100)",
        )
        .bind(format!("evt_{i:03}"))
        .bind(i as i64)
        .execute(&store.pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO webhook_sends (event_id, endpoint_id, next_attempt_at)
             SELECT $1, id, 100 FROM webhook_endpoints",
        )
        .bind(format!("evt_{i:03}"))
        .execute(&store.pool)
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn endpoints_are_bounded_changed_and_deleted() {
    let Some(store) = fresh().await else { return };
    exec(
        &store,
        "INSERT INTO stores (id, name, currency) VALUES ('demo', 'D', 'EUR')",
    )
    .await;
    assert!(
        store
            .create_endpoint(&endpoint("we_a", &[T::OrderCreated]), 2)
            .await
            .unwrap()
    );
    assert!(
        store
            .create_endpoint(&endpoint("we_b", &[T::CartLocked]), 2)
            .await
            .unwrap()
    );
    assert!(
        !store
            .create_endpoint(&endpoint("we_c", &[T::CartLocked]), 2)
            .await
            .unwrap()
    );
    let ids: Vec<_> = (store.endpoints("demo").await.unwrap().into_iter())
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, ["we_a", "we_b"]);

    let change = EndpointChange {
        url: Some("https://example.com/new".to_owned()),
        events: Some(vec![T::ShareAccepted, T::OrderCreated]),
        enabled: Some(false),
    };
    let changed = store
        .update_endpoint("demo", "we_a", &change)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.url, "https://example.com/new");
    assert_eq!(changed.events, [T::ShareAccepted, T::OrderCreated]);
    assert!(!changed.enabled);
    let enable = EndpointChange {
        enabled: Some(true),
        ..EndpointChange::default()
    };
    assert!(
        store
            .update_endpoint("demo", "we_a", &enable)
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    assert!(
        store
            .update_endpoint("shop", "we_a", &enable)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .deliveries("shop", "we_a", 10)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.deliveries("demo", "we_a", 10).await.unwrap(),
        Some(vec![])
    );
    assert!(!store.delete_endpoint("shop", "we_a").await.unwrap());
    assert!(store.delete_endpoint("demo", "we_a").await.unwrap());
    assert_eq!(store.endpoints("demo").await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_order_event_is_claimed_sealed_retried_and_delivered() {
    let Some(store) = fresh().await else { return };
    exec(
        &store,
        "INSERT INTO stores (id, name, currency) VALUES ('demo', 'D', 'EUR')",
    )
    .await;
    exec(
        &store,
        "INSERT INTO products (store_id, sku, name, price, currency, stock, color, position)
         VALUES ('demo', 'MUG', 'Mug', 500, 'EUR', 3, 'blue', 0)",
    )
    .await;
    store
        .create_endpoint(&endpoint("we_a", &[T::OrderCreated]), 5)
        .await
        .unwrap();
    store
        .create_endpoint(&endpoint("we_b", &[T::CartLocked]), 5)
        .await
        .unwrap();
    let payer = cartroom_protocol::UserId::new_random();
    let order = NewOrder {
        id: "ord_1".to_owned(),
        store_id: "demo".to_owned(),
        cart_id: CartId::new_random(),
        cart_name: "Picnic".to_owned(),
        placed_by: payer,
        placed_by_name: "Ana".to_owned(),
        currency: "EUR".to_owned(),
        subtotal: 500,
        shipping: 0,
        total: 500,
        lines: vec![OrderLine {
            sku: "MUG".to_owned(),
            name: "Mug".to_owned(),
            unit_price: 500,
            quantity: 1,
            line_total: 500,
            owner: payer.to_string(),
            owner_name: "Ana".to_owned(),
        }],
        addresses: Vec::new(),
        split: SplitPlan::OnePayer { payer },
        shares: Vec::new(),
        now_ms: 1_000,
    };
    store.place_order(&order).await.unwrap();
    assert_eq!(store.next_due().await.unwrap(), Some(1_000));
    assert!(store.claim_due(999, 16, 4).await.unwrap().is_empty());

    let claimed = store.claim_due(1_000, 16, 4).await.unwrap();
    assert_eq!(claimed.len(), 1, "only the subscribed endpoint");
    let first = &claimed[0];
    assert_eq!(
        (first.kind, first.endpoint_id.as_str(), first.attempt),
        (T::OrderCreated, "we_a", 1)
    );
    assert!(first.data.contains("ord_1"), "{}", first.data);
    let sealed: bool = sqlx::query_scalar("SELECT sealed FROM webhook_events")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert!(sealed);
    // Claimed: neither due nor claimable again.
    assert_eq!(store.next_due().await.unwrap(), None);
    assert!(store.claim_due(1_000, 16, 4).await.unwrap().is_empty());

    let retry = AfterFailure::RetryAt(5_000);
    assert!(
        !store
            .failed(first, &outcome(None), &retry, 1_100)
            .await
            .unwrap()
    );
    assert_eq!(store.next_due().await.unwrap(), Some(5_000));
    assert_eq!(
        store.endpoints("demo").await.unwrap()[0].failing_since,
        Some(1_100)
    );
    assert!(store.claim_due(4_999, 16, 4).await.unwrap().is_empty());
    let second = store.claim_due(5_000, 16, 4).await.unwrap().remove(0);
    assert_eq!(second.attempt, 2);
    store.delivered(&second, &outcome(Some(200))).await.unwrap();

    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM webhook_sends) + (SELECT COUNT(*) FROM webhook_events)",
    )
    .fetch_one(&store.pool)
    .await
    .unwrap();
    assert_eq!(left, 0);
    let log = store.deliveries("demo", "we_a", 10).await.unwrap().unwrap();
    let log: Vec<_> = log
        .iter()
        .map(|d| (d.attempt, d.status, d.error.as_deref()))
        .collect();
    assert_eq!(log, [(2, Some(200), None), (1, None, Some("refused"))]);
    assert_eq!(
        store.endpoints("demo").await.unwrap()[0].failing_since,
        None
    );
}

#[tokio::test]
async fn giving_up_disables_once_and_tells_the_owners() {
    let Some(store) = fresh().await else { return };
    exec(
        &store,
        "INSERT INTO stores (id, name, currency) VALUES ('demo', 'D', 'EUR')",
    )
    .await;
    exec(
        &store,
        "INSERT INTO users (id, email, name, is_guest, created_at)
         VALUES ('u1', 'owner@example.com', 'Owner', FALSE, 0)",
    )
    .await;
    exec(
        &store,
        "INSERT INTO store_staff (store_id, user_id, role, added_at) VALUES ('demo', 'u1', 'owner', 0)",
    )
    .await;
    store
        .create_endpoint(&endpoint("we_a", &[T::OrderCreated]), 5)
        .await
        .unwrap();
    events(&store, 2).await;
    let claimed = store.claim_due(100, 16, 4).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let give_up = AfterFailure::Disable {
        reason: "kept failing".to_owned(),
        mail: crate::store::sharing::NewMail {
            purpose: crate::store::sharing::MailPurpose::WebhookDisabled,
            ref_id: "we_a".to_owned(),
            recipient: String::new(),
            subject: "s".to_owned(),
            text: "t".to_owned(),
            html: "h".to_owned(),
            now_ms: 200,
        },
    };
    assert!(
        store
            .failed(&claimed[0], &outcome(None), &give_up, 200)
            .await
            .unwrap()
    );
    assert!(
        !store
            .failed(&claimed[1], &outcome(None), &give_up, 200)
            .await
            .unwrap()
    );
    let view = store.endpoints("demo").await.unwrap().remove(0);
    assert_eq!(
        (view.enabled, view.disabled_reason.as_deref()),
        (false, Some("kept failing"))
    );
    let (mails, sends): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM outbox WHERE recipient = 'owner@example.com'),
                (SELECT COUNT(*) FROM webhook_sends)",
    )
    .fetch_one(&store.pool)
    .await
    .unwrap();
    assert_eq!((mails, sends), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_claiming_at_once_never_claim_one_send_twice() {
    let Some(a) = fresh().await else { return };
    let b = other_node(&a).await;
    exec(
        &a,
        "INSERT INTO stores (id, name, currency) VALUES ('demo', 'D', 'EUR')",
    )
    .await;
    for id in ["we_a", "we_b", "we_c"] {
        a.create_endpoint(&endpoint(id, &[T::OrderCreated]), 5)
            .await
            .unwrap();
    }
    events(&a, 20).await;
    let (a, b) = (Arc::new(a), Arc::new(b));
    let mut seen = HashSet::new();
    let mut in_flight = 0;
    // Each round, both nodes claim at once; then each delivers what it got.
    for _ in 0..10 {
        let (a2, b2) = (a.clone(), b.clone());
        let (ra, rb) = tokio::join!(
            tokio::spawn(async move { a2.claim_due(100, 16, 4).await.unwrap() }),
            tokio::spawn(async move { b2.claim_due(100, 16, 4).await.unwrap() }),
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        let both: Vec<_> = ra.iter().chain(&rb).collect();
        // At most 4 in flight per endpoint, over both nodes.
        for id in ["we_a", "we_b", "we_c"] {
            assert!(both.iter().filter(|c| c.endpoint_id == id).count() <= 4);
        }
        for claimed in &both {
            let pair = (claimed.event_id.clone(), claimed.endpoint_id.clone());
            assert!(seen.insert(pair), "claimed twice: {claimed:?}");
            assert_eq!(claimed.attempt, 1);
        }
        in_flight += both.len();
        for claimed in ra {
            a.delivered(&claimed, &outcome(Some(204))).await.unwrap();
        }
        for claimed in rb {
            b.delivered(&claimed, &outcome(Some(204))).await.unwrap();
        }
    }
    assert_eq!((seen.len(), in_flight), (60, 60));
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_events")
        .fetch_one(&a.pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "the last delivery of each event forgets it");
}

#[tokio::test]
async fn a_node_that_leaves_frees_its_claims_and_a_live_ones_stay() {
    let Some(a) = fresh().await else { return };
    let b = other_node(&a).await;
    exec(
        &a,
        "INSERT INTO stores (id, name, currency) VALUES ('demo', 'D', 'EUR')",
    )
    .await;
    a.create_endpoint(&endpoint("we_a", &[T::OrderCreated]), 5)
        .await
        .unwrap();
    events(&a, 2).await;
    a.release_claims().await.unwrap();
    assert_eq!(a.claim_due(100, 16, 4).await.unwrap().len(), 2);

    // B starts while A is alive: A's claims stay A's.
    b.release_claims().await.unwrap();
    assert!(b.claim_due(100, 16, 4).await.unwrap().is_empty());
    assert_eq!(b.next_due().await.unwrap(), None);

    // A stops (or dies): its presence goes with its connections.
    a.close().await;
    let gone = async {
        while b.next_due().await.unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), gone)
        .await
        .expect("A's claims lapse");
    // A node starting now marks the cut attempts, and they are due again.
    b.release_claims().await.unwrap();
    let log = b.deliveries("demo", "we_a", 10).await.unwrap().unwrap();
    assert_eq!(log.len(), 2);
    assert!(
        log.iter().all(|d| d.error.as_deref() == Some(INTERRUPTED)),
        "{log:?}"
    );
    let again = b.claim_due(100, 16, 4).await.unwrap();
    assert_eq!(again.iter().map(|c| c.attempt).collect::<Vec<_>>(), [2, 2]);
}
