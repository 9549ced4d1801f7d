//! Webhook events written inside the caller's transaction on the pool:
//! placing an order, moving an order on, accepting a share (the writer's,
//! of cart changes, are in [`super::cart_events`]). An event is written
//! only when the store has an enabled endpoint subscribed to its type, with
//! one send per such endpoint. The transaction commits through
//! [`SqliteStore::commit_with_events`], which wakes the delivery worker.

use cartroom_protocol::CartId;
use cartroom_protocol::webhooks::{
    WebhookEventType as T, WebhookOrderCreatedData, WebhookOrderStatusData, WebhookShareData,
};
use serde::Serialize;
use sqlx::{Sqlite, SqliteConnection, Transaction};

use super::super::{SqliteStore, parse_id};
use crate::store::webhooks::{Accepted, StatusChange};
use crate::store::{NewOrder, Result, StoreError};

impl SqliteStore {
    /// Commits a transaction that may have written events with the
    /// functions below, then wakes the delivery worker.
    pub(in crate::store::sqlite) async fn commit_with_events(
        &self,
        tx: Transaction<'_, Sqlite>,
    ) -> Result<()> {
        tx.commit().await?;
        self.wakes.webhook_events.notify_one();
        Ok(())
    }
}

/// Inserts an event; `open_until` is when its first sends are due.
pub(super) const INSERT_EVENT: &str =
    "INSERT INTO webhook_events (id, store_id, type, cart_id, created_at, data, open_until)
     VALUES (?, ?, ?, ?, ?, ?, ?)";

/// Inserts one send of an event to one endpoint.
pub(super) const INSERT_SEND: &str =
    "INSERT INTO webhook_sends (event_id, endpoint_id, next_attempt_at) VALUES (?, ?, ?)";

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
pub(super) struct Event<'a> {
    pub(super) id: String,
    pub(super) store: &'a str,
    pub(super) kind: T,
    pub(super) cart: Option<CartId>,
    pub(super) data: String,
    pub(super) at: i64,
}

impl<'a> Event<'a> {
    pub(super) fn new(
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
    sqlx::query(INSERT_EVENT)
        .bind(&event.id)
        .bind(event.store)
        .bind(event.kind.as_str())
        .bind(event.cart.map(|c| c.to_string()))
        .bind(event.at)
        .bind(&event.data)
        .bind(due)
        .execute(&mut *conn)
        .await?;
    for endpoint in endpoints {
        sqlx::query(INSERT_SEND)
            .bind(&event.id)
            .bind(endpoint)
            .bind(due)
            .execute(&mut *conn)
            .await?;
    }
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

fn to_json(value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("webhook data: {e}")))
}
