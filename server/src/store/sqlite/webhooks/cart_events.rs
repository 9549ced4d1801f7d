//! The webhook events of cart changes (`store::webhooks::cart_events`
//! says which), written by the writer on its own connection, in the
//! transaction that commits the changes.

use std::collections::BTreeSet;

use cartroom_protocol::webhooks::{WebhookCartItemsData, WebhookEventType as T};
use rusqlite::{Connection, OptionalExtension, params};

use super::HookedStores;
use super::events::{Event, INSERT_EVENT, INSERT_SEND};
use crate::store::webhooks::{
    CartEvent, CartEventBody, Subscribers, cart_events, hooked_stores, merge_items, subscribe,
};
use crate::store::{ChangeRecord, Result};

/// Writes the webhook events of the writer's batch, in its transaction;
/// true when it inserted one (changes merged into an open event are
/// already due with it). Stores that `hooked` says have no endpoint cost
/// no read.
pub(in crate::store::sqlite) fn write_cart_events(
    conn: &Connection,
    changes: &[&ChangeRecord],
    hooked: &HookedStores,
    debounce_ms: i64,
) -> Result<bool> {
    let mut stores = hooked_stores(changes);
    hooked.retain_marked(&mut stores);
    if stores.is_empty() {
        return Ok(false);
    }
    let subscribers = subscribers(conn, &stores)?;
    if subscribers.is_empty() {
        return Ok(false);
    }
    let mut inserted = false;
    for record in changes.iter().filter(|r| !r.hooks.is_empty()) {
        inserted |= write_change_events(conn, record, &subscribers, debounce_ms)?;
    }
    Ok(inserted)
}

fn write_change_events(
    conn: &Connection,
    record: &ChangeRecord,
    subscribers: &Subscribers,
    debounce_ms: i64,
) -> Result<bool> {
    let store = record.hooks.store_id.as_str();
    let at = record.activity.at;
    let cart = Some(record.cart_id);
    let mut inserted = false;
    for CartEvent { body, to } in cart_events(record, subscribers)? {
        let (event, due) = match body {
            CartEventBody::Items(kind, data) => {
                if merge_into_open(conn, kind, &data, at)? {
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
                    None => conn
                        .prepare_cached("SELECT name FROM carts WHERE id = ?")?
                        .query_row([record.cart_id.to_string()], |row| row.get(0))?,
                };
                (Event::new(store, T::CartLocked, cart, &data, at)?, at)
            }
            CartEventBody::BudgetExceeded(data) => {
                (Event::new(store, T::BudgetExceeded, cart, &data, at)?, at)
            }
        };
        insert(conn, &event, due, to)?;
        inserted = true;
    }
    Ok(inserted)
}

/// Merges `data` into the open event of its cart and type; false when
/// there is none.
fn merge_into_open(
    conn: &Connection,
    kind: T,
    data: &WebhookCartItemsData,
    at: i64,
) -> Result<bool> {
    let open: Option<(String, String)> = conn
        .prepare_cached(
            "SELECT id, data FROM webhook_events
             WHERE cart_id = ? AND type = ? AND sealed = 0 AND open_until > ?
             ORDER BY created_at DESC LIMIT 1",
        )?
        .query_row(
            params![data.cart_id.to_string(), kind.as_str(), at],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((id, open)) = open else {
        return Ok(false);
    };
    conn.prepare_cached("UPDATE webhook_events SET data = ? WHERE id = ?")?
        .execute(params![merge_items(&open, data)?, id])?;
    Ok(true)
}

/// Inserts the event and one send per endpoint, due at `due`.
fn insert(conn: &Connection, event: &Event<'_>, due: i64, endpoints: &[String]) -> Result<()> {
    conn.prepare_cached(INSERT_EVENT)?.execute(params![
        event.id,
        event.store,
        event.kind.as_str(),
        event.cart.map(|c| c.to_string()),
        event.at,
        event.data,
        due,
    ])?;
    let mut send = conn.prepare_cached(INSERT_SEND)?;
    for endpoint in endpoints {
        send.execute(params![event.id, endpoint, due])?;
    }
    Ok(())
}

/// The enabled endpoints of these stores, by (store, event type).
fn subscribers(conn: &Connection, stores: &BTreeSet<&str>) -> Result<Subscribers> {
    let marks = vec!["?"; stores.len()].join(", ");
    let mut query = conn.prepare(&format!(
        "SELECT id, store_id, events FROM webhook_endpoints WHERE enabled = 1 AND store_id IN ({marks})"
    ))?;
    let mut rows = query.query(rusqlite::params_from_iter(stores))?;
    let mut found = Subscribers::new();
    while let Some(row) = rows.next()? {
        let events: String = row.get(2)?;
        subscribe(&mut found, row.get(0)?, row.get(1)?, &events)?;
    }
    Ok(found)
}
