//! Webhook events written inside the caller's transaction: the writer's
//! (cart changes), placing an order, moving an order on, accepting a share.
//! An event is written only when the store has an enabled endpoint
//! subscribed to its type, with one send per such endpoint.
//!
//! Which events a cart change makes, and how item events merge while
//! open, is `store::webhooks::cart_events`, shared with SQLite.
//!
//! Postgres: the same statements as SQLite's. Where they differ: the
//! endpoint's `events` (a JSON array in TEXT) is searched with `jsonb ?`
//! instead of `json_each`; and the merge locks the open event
//! (`FOR UPDATE`), because a worker on another node may seal it at the same
//! moment: either the seal waits for the merge and sends the merged body,
//! or the merge finds the event sealed and writes a new one.

use std::collections::BTreeSet;

use cartroom_protocol::CartId;
use cartroom_protocol::webhooks::{
    WebhookCartItemsData, WebhookEventType as T, WebhookOrderCreatedData, WebhookOrderStatusData,
    WebhookShareData,
};
use serde::Serialize;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

use super::super::parse_id;
use crate::store::webhooks::{
    Accepted, CartEvent, CartEventBody, StatusChange, Subscribers, cart_events, hooked_stores,
    merge_items, subscribe,
};
use crate::store::{ChangeRecord, NewOrder, Result, StoreError};

/// Writes the webhook events of the writer's batch, in its transaction.
pub(in crate::store::postgres) async fn write_cart_events(
    conn: &mut PgConnection,
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

async fn write_change_events(
    conn: &mut PgConnection,
    record: &ChangeRecord,
    subscribers: &Subscribers,
    debounce_ms: i64,
) -> Result<()> {
    let store = record.hooks.store_id.as_str();
    let at = record.activity.at;
    let cart = Some(record.cart_id);
    for CartEvent { body, to } in cart_events(record, subscribers)? {
        let (event, due) = match body {
            CartEventBody::Items(kind, data) => {
                if merge_into_open(conn, kind, &data, at).await? {
                    continue;
                }
                (Event::new(store, kind, cart, &data, at)?, at + debounce_ms)
            }
            CartEventBody::Locked {
                mut data,
                cart_name,
            } => {
                data.cart_name = match cart_name {
                    Some(name) => name,
                    // This batch's summaries are written already.
                    None => {
                        sqlx::query_scalar("SELECT name FROM carts WHERE id = $1")
                            .bind(record.cart_id.to_string())
                            .fetch_one(&mut *conn)
                            .await?
                    }
                };
                (Event::new(store, T::CartLocked, cart, &data, at)?, at)
            }
            CartEventBody::BudgetExceeded(data) => {
                (Event::new(store, T::BudgetExceeded, cart, &data, at)?, at)
            }
        };
        insert(conn, &event, due, to).await?;
    }
    Ok(())
}

/// Merges `data` into the open event of its cart and type; false when
/// there is none. The event is locked until the caller commits, so a
/// worker sealing it (`claim_due`) waits, and then sends the merged body.
async fn merge_into_open(
    conn: &mut PgConnection,
    kind: T,
    data: &WebhookCartItemsData,
    at: i64,
) -> Result<bool> {
    let open = sqlx::query(
        "SELECT id, data FROM webhook_events
         WHERE cart_id = $1 AND type = $2 AND NOT sealed AND open_until > $3
         ORDER BY created_at DESC LIMIT 1
         FOR UPDATE",
    )
    .bind(data.cart_id.to_string())
    .bind(kind.as_str())
    .bind(at)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(open) = open else {
        return Ok(false);
    };
    sqlx::query("UPDATE webhook_events SET data = $1 WHERE id = $2")
        .bind(merge_items(open.get("data"), data)?)
        .bind(open.get::<&str, _>("id"))
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

/// Writes `order.created` in the transaction that places the order.
pub(in crate::store::postgres) async fn order_created(
    conn: &mut PgConnection,
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
pub(in crate::store::postgres) async fn order_status_changed(
    conn: &mut PgConnection,
    change: StatusChange<'_>,
) -> Result<()> {
    let to = subscribed(conn, change.store_id, T::OrderStatusChanged).await?;
    if to.is_empty() {
        return Ok(());
    }
    let cart: String = sqlx::query_scalar("SELECT cart_id FROM orders WHERE id = $1")
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
pub(in crate::store::postgres) async fn share_accepted(
    conn: &mut PgConnection,
    accepted: Accepted<'_>,
) -> Result<()> {
    let store: Option<String> = sqlx::query_scalar("SELECT store_id FROM carts WHERE id = $1")
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
    conn: &mut PgConnection,
    event: &Event<'_>,
    due: i64,
    endpoints: &[String],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO webhook_events (id, store_id, type, cart_id, created_at, data, open_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
    QueryBuilder::<Postgres>::new(
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
async fn subscribed(conn: &mut PgConnection, store: &str, kind: T) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM webhook_endpoints
         WHERE store_id = $1 AND enabled AND events::jsonb ? $2
         ORDER BY id",
    )
    .bind(store)
    .bind(kind.as_str())
    .fetch_all(&mut *conn)
    .await?)
}

/// The enabled endpoints of these stores, by (store, event type).
async fn subscribers(conn: &mut PgConnection, stores: &BTreeSet<&str>) -> Result<Subscribers> {
    let mut query = QueryBuilder::<Postgres>::new(
        "SELECT id, store_id, events FROM webhook_endpoints WHERE enabled AND store_id IN (",
    );
    let mut list = query.separated(", ");
    for store in stores {
        list.push_bind(*store);
    }
    query.push(") ORDER BY id");
    let mut found = Subscribers::new();
    for row in query.build().fetch_all(&mut *conn).await? {
        subscribe(
            &mut found,
            row.get("id"),
            row.get("store_id"),
            row.get("events"),
        )?;
    }
    Ok(found)
}

fn to_json(value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("webhook data: {e}")))
}
