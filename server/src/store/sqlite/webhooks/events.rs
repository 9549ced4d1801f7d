//! Webhook events written inside the caller's transaction: the writer's
//! (cart changes), placing an order, moving an order on, accepting a share.
//! An event is written only when the store has an enabled endpoint
//! subscribed to its type, with one send per such endpoint.
//!
//! Cart item events are debounced: while an event of the same cart and type
//! is open (its `open_until` not reached, its body not yet claimed by the
//! worker), a change merges its items into it instead of adding an event.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use cartroom_protocol::CartId;
use cartroom_protocol::webhooks::{
    WebhookBudgetData, WebhookCartItemsData, WebhookCartLockedData, WebhookEventType as T,
    WebhookItem, WebhookOrderCreatedData, WebhookOrderStatusData, WebhookShareData,
};
use serde::Serialize;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::super::parse_id;
use crate::store::webhooks::{Accepted, StatusChange};
use crate::store::{ChangeRecord, NewOrder, Result, StoreError};

/// The endpoints of each (store, event type), enabled and subscribed.
type Subscribers = HashMap<(String, T), Vec<String>>;

/// Writes the webhook events of the writer's batch, in its transaction.
pub(in crate::store::sqlite) async fn write_cart_events(
    conn: &mut SqliteConnection,
    changes: &[&ChangeRecord],
    debounce_ms: i64,
) -> Result<()> {
    let changes: Vec<&ChangeRecord> = changes
        .iter()
        .copied()
        .filter(|r| !r.hooks.is_empty())
        .collect();
    if changes.is_empty() {
        return Ok(());
    }
    let subscribers = subscribers(conn, &hooked_stores(&changes)).await?;
    if subscribers.is_empty() {
        return Ok(());
    }
    for record in changes {
        write_change_events(conn, record, &subscribers, debounce_ms).await?;
    }
    Ok(())
}

/// The stores whose webhooks may hear of these changes.
pub(in crate::store::sqlite) fn hooked_stores<'a>(
    changes: &[&'a ChangeRecord],
) -> BTreeSet<&'a str> {
    (changes.iter())
        .filter(|r| !r.hooks.is_empty())
        .map(|r| r.hooks.store_id.as_str())
        .collect()
}

/// Appends a query answering whether any of `stores` has an enabled
/// endpoint, so that the writer learns it in the round trip that writes.
pub(in crate::store::sqlite) fn push_any_endpoint<'a>(
    sql: &mut QueryBuilder<'a, Sqlite>,
    stores: &BTreeSet<&'a str>,
) {
    sql.push("SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled = 1 AND store_id IN (");
    let mut list = sql.separated(", ");
    for store in stores {
        list.push_bind(*store);
    }
    sql.push("))");
}

async fn write_change_events(
    conn: &mut SqliteConnection,
    record: &ChangeRecord,
    subscribers: &Subscribers,
    debounce_ms: i64,
) -> Result<()> {
    let hooks = &record.hooks;
    let store = hooks.store_id.as_str();
    let to = |kind: T| {
        subscribers
            .get(&(store.to_owned(), kind))
            .map_or(&[][..], Vec::as_slice)
    };
    let at = record.activity.at;
    let cart = record.cart_id;
    for (kind, sign) in [(T::CartItemAdded, 1), (T::CartItemRemoved, -1)] {
        let items: Vec<WebhookItem> = (hooks.lines.iter())
            .filter(|(_, _, delta)| delta.signum() == sign)
            .map(|(sku, name, delta)| WebhookItem {
                sku: sku.clone(),
                name: name.clone(),
                quantity: delta.abs(),
            })
            .collect();
        if items.is_empty() || to(kind).is_empty() {
            continue;
        }
        let data = WebhookCartItemsData {
            cart_id: cart,
            items,
            subtotal: record.activity.subtotal,
            currency: record.activity.currency.clone(),
        };
        if !merge_items(conn, kind, &data, at).await? {
            let event = Event::new(store, kind, Some(cart), &data, at)?;
            insert(conn, &event, at + debounce_ms, to(kind)).await?;
        }
    }
    if hooks.locked && !to(T::CartLocked).is_empty() {
        // A change carries the cart's name only when it changed; the row
        // has it otherwise (this batch's summaries are written already).
        let cart_name = match &record.summary {
            Some(summary) => summary.name.clone(),
            None => {
                sqlx::query_scalar("SELECT name FROM carts WHERE id = ?")
                    .bind(cart.to_string())
                    .fetch_one(&mut *conn)
                    .await?
            }
        };
        let data = WebhookCartLockedData {
            cart_id: cart,
            cart_name,
            subtotal: record.activity.subtotal,
            currency: record.activity.currency.clone(),
            line_count: record.line_count,
        };
        let event = Event::new(store, T::CartLocked, Some(cart), &data, at)?;
        insert(conn, &event, at, to(T::CartLocked)).await?;
    }
    for (user, name, budget, share) in &hooks.over_budget {
        if to(T::BudgetExceeded).is_empty() {
            break;
        }
        let data = WebhookBudgetData {
            cart_id: cart,
            user_id: parse_id(user)?,
            user_name: name.clone(),
            budget: *budget,
            share: *share,
            currency: record.activity.currency.clone(),
        };
        let event = Event::new(store, T::BudgetExceeded, Some(cart), &data, at)?;
        insert(conn, &event, at, to(T::BudgetExceeded)).await?;
    }
    Ok(())
}

/// Merges `data` into the open event of its cart and type; false when
/// there is none.
async fn merge_items(
    conn: &mut SqliteConnection,
    kind: T,
    data: &WebhookCartItemsData,
    at: i64,
) -> Result<bool> {
    let open = sqlx::query(
        "SELECT id, data FROM webhook_events
         WHERE cart_id = ? AND type = ? AND sealed = 0 AND open_until > ?
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(data.cart_id.to_string())
    .bind(kind.as_str())
    .bind(at)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(open) = open else {
        return Ok(false);
    };
    let mut merged: WebhookCartItemsData = serde_json::from_str(open.get("data"))
        .map_err(|e| StoreError::Corrupt(format!("webhook event data: {e}")))?;
    let mut items: BTreeMap<String, WebhookItem> = (merged.items.drain(..))
        .map(|item| (item.sku.clone(), item))
        .collect();
    for item in &data.items {
        items
            .entry(item.sku.clone())
            .and_modify(|known| known.quantity += item.quantity)
            .or_insert_with(|| item.clone());
    }
    merged.items = items.into_values().collect();
    merged.subtotal = data.subtotal;
    merged.currency.clone_from(&data.currency);
    sqlx::query("UPDATE webhook_events SET data = ? WHERE id = ?")
        .bind(to_json(&merged)?)
        .bind(open.get::<&str, _>("id"))
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

/// Writes `order.created` in the transaction that places the order.
pub(in crate::store::sqlite) async fn order_created(
    conn: &mut SqliteConnection,
    order: &NewOrder,
) -> Result<()> {
    let to = subscribed(conn, &order.store_id, T::OrderCreated).await?;
    if to.is_empty() {
        return Ok(());
    }
    let data = WebhookOrderCreatedData {
        order: order.view(),
    };
    let event = Event::new(&order.store_id, T::OrderCreated, None, &data, order.now_ms)?;
    insert(conn, &event, order.now_ms, &to).await
}

/// Writes `order.status_changed` in the transaction that changes it.
pub(in crate::store::sqlite) async fn order_status_changed(
    conn: &mut SqliteConnection,
    change: StatusChange<'_>,
) -> Result<()> {
    let to = subscribed(conn, change.store_id, T::OrderStatusChanged).await?;
    if to.is_empty() {
        return Ok(());
    }
    let cart: String = sqlx::query_scalar("SELECT cart_id FROM orders WHERE id = ?")
        .bind(change.order_id)
        .fetch_one(&mut *conn)
        .await?;
    let data = WebhookOrderStatusData {
        order_id: change.order_id.to_owned(),
        cart_id: parse_id(&cart)?,
        status: change.status,
        previous_status: change.previous,
        by_name: change.by_name.to_owned(),
    };
    let event = Event::new(
        change.store_id,
        T::OrderStatusChanged,
        None,
        &data,
        change.now_ms,
    )?;
    insert(conn, &event, change.now_ms, &to).await
}

/// Writes `share.accepted` in the transaction that makes the member.
pub(in crate::store::sqlite) async fn share_accepted(
    conn: &mut SqliteConnection,
    accepted: Accepted<'_>,
) -> Result<()> {
    let store: Option<String> = sqlx::query_scalar("SELECT store_id FROM carts WHERE id = ?")
        .bind(accepted.cart.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(store) = store else {
        return Ok(());
    };
    let to = subscribed(conn, &store, T::ShareAccepted).await?;
    if to.is_empty() {
        return Ok(());
    }
    let data = WebhookShareData {
        cart_id: accepted.cart,
        via: accepted.via.to_owned(),
        share_id: accepted.share_id.to_owned(),
        user_id: accepted.user,
        role: accepted.role,
        invited_by: accepted.invited_by,
    };
    let cart = Some(accepted.cart);
    let event = Event::new(&store, T::ShareAccepted, cart, &data, accepted.now_ms)?;
    insert(conn, &event, accepted.now_ms, &to).await
}

/// An event row, ready to insert.
struct Event<'a> {
    id: String,
    store: &'a str,
    kind: T,
    cart: Option<CartId>,
    data: String,
    at: i64,
}

impl<'a> Event<'a> {
    fn new(
        store: &'a str,
        kind: T,
        cart: Option<CartId>,
        data: &impl Serialize,
        at: i64,
    ) -> Result<Self> {
        Ok(Self {
            id: format!("evt_{}", uuid::Uuid::new_v4().simple()),
            store,
            kind,
            cart,
            data: to_json(data)?,
            at,
        })
    }
}

/// Inserts the event and one send per endpoint, due at `due`.
async fn insert(
    conn: &mut SqliteConnection,
    event: &Event<'_>,
    due: i64,
    endpoints: &[String],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO webhook_events (id, store_id, type, cart_id, created_at, data, open_until)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&event.id)
    .bind(event.store)
    .bind(event.kind.as_str())
    .bind(event.cart.map(|c| c.to_string()))
    .bind(event.at)
    .bind(&event.data)
    .bind(due)
    .execute(&mut *conn)
    .await?;
    QueryBuilder::<Sqlite>::new(
        "INSERT INTO webhook_sends (event_id, endpoint_id, next_attempt_at) ",
    )
    .push_values(endpoints, |mut row, endpoint| {
        row.push_bind(&event.id).push_bind(endpoint).push_bind(due);
    })
    .build()
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The enabled endpoints of `store` subscribed to `kind`.
async fn subscribed(conn: &mut SqliteConnection, store: &str, kind: T) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM webhook_endpoints
         WHERE store_id = ? AND enabled = 1
           AND EXISTS (SELECT 1 FROM json_each(events) WHERE value = ?)",
    )
    .bind(store)
    .bind(kind.as_str())
    .fetch_all(&mut *conn)
    .await?)
}

/// The enabled endpoints of these stores, by (store, event type).
async fn subscribers(conn: &mut SqliteConnection, stores: &BTreeSet<&str>) -> Result<Subscribers> {
    let mut query = QueryBuilder::<Sqlite>::new(
        "SELECT id, store_id, events FROM webhook_endpoints WHERE enabled = 1 AND store_id IN (",
    );
    let mut list = query.separated(", ");
    for store in stores {
        list.push_bind(*store);
    }
    query.push(")");
    let mut found = Subscribers::new();
    for row in query.build().fetch_all(&mut *conn).await? {
        let events: Vec<T> = serde_json::from_str(row.get("events"))
            .map_err(|e| StoreError::Corrupt(format!("webhook events: {e}")))?;
        for kind in events {
            found
                .entry((row.get("store_id"), kind))
                .or_default()
                .push(row.get("id"));
        }
    }
    Ok(found)
}

fn to_json(value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("webhook data: {e}")))
}
