//! The writer writes a store's webhook events whenever the store has an
//! enabled endpoint, however it got one: created while the database is
//! open, enabled after it was opened, or found when it opens. The edits of
//! a store without one take the writer's one-statement path.

use cartroom_protocol::CartId;
use cartroom_protocol::webhooks::WebhookEventType as T;

use super::super::SqliteStore;
use crate::config::Config;
use crate::store::changelog_tests::{cart_of, change, commit};
use crate::store::webhooks::{EndpointChange, NewEndpoint, Webhooks};
use crate::store::{CartHooks, ChangeRecord};

async fn open(config: &Config) -> SqliteStore {
    let store = SqliteStore::open(config).await.unwrap();
    sqlx::query("INSERT OR IGNORE INTO stores (id, name, currency) VALUES ('s1', 'S', 'USD')")
        .execute(&store.pool)
        .await
        .unwrap();
    store
}

fn endpoint(id: &str) -> NewEndpoint {
    NewEndpoint {
        id: id.into(),
        store_id: "s1".into(),
        url: "https://example.com/hook".into(),
        events: vec![T::CartItemAdded],
        secret: "secret".into(),
        now_ms: 0,
    }
}

fn enabled(on: bool) -> EndpointChange {
    EndpointChange {
        enabled: Some(on),
        ..EndpointChange::default()
    }
}

/// A new cart of store s1 whose first edit adds a mug: each step gets its
/// own cart, so that no event merges into an earlier one (debouncing).
async fn add_a_mug_to_a_new_cart(store: &SqliteStore) -> CartId {
    let (cart, user) = cart_of(store).await;
    let record = ChangeRecord {
        hooks: CartHooks {
            store_id: "s1".into(),
            lines: vec![("MUG".into(), "Mug".into(), 1)],
            ..CartHooks::default()
        },
        ..change(cart, user, 1, 1)
    };
    commit(store, record).await;
    cart
}

/// Whether the cart's edit got a webhook event.
async fn told(store: &SqliteStore, cart: CartId) -> bool {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM webhook_events WHERE cart_id = ?)")
        .bind(cart.to_string())
        .fetch_one(&store.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn events_are_written_exactly_while_the_store_has_an_enabled_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::for_data_dir(dir.path());
    let store = open(&config).await;
    let before = add_a_mug_to_a_new_cart(&store).await;
    assert!(!told(&store, before).await, "no endpoint, no event");

    assert!(store.create_endpoint(&endpoint("we_a"), 5).await.unwrap());
    let created = add_a_mug_to_a_new_cart(&store).await;
    assert!(
        told(&store, created).await,
        "an endpoint created while open"
    );

    store
        .update_endpoint("s1", "we_a", &enabled(false))
        .await
        .unwrap();
    store.close().await;
    let store = open(&config).await;
    let disabled = add_a_mug_to_a_new_cart(&store).await;
    assert!(!told(&store, disabled).await, "a disabled endpoint");

    store
        .update_endpoint("s1", "we_a", &enabled(true))
        .await
        .unwrap();
    let re_enabled = add_a_mug_to_a_new_cart(&store).await;
    assert!(
        told(&store, re_enabled).await,
        "an endpoint enabled after opening"
    );

    store.close().await;
    let store = open(&config).await;
    let reopened = add_a_mug_to_a_new_cart(&store).await;
    assert!(told(&store, reopened).await, "an endpoint found on opening");
    store.close().await;
}
