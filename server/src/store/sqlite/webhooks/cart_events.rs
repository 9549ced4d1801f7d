//! The webhook events of cart changes, written by the writer on its own
//! connection, in the transaction that commits the changes.
//!
//! Cart item events are debounced: while an event of the same cart and type
//! is open (its `open_until` not reached, its body not yet claimed by the
//! worker), a change merges its items into it instead of adding an event.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use cartroom_protocol::webhooks::{
    WebhookBudgetData, WebhookCartItemsData, WebhookCartLockedData, WebhookEventType as T,
    WebhookItem,
};
use rusqlite::{Connection, OptionalExtension, params};

use super::super::parse_id;
use super::HookedStores;
use super::events::{Event, INSERT_EVENT, INSERT_SEND, to_json};
use crate::store::{ChangeRecord, Result, StoreError};

/// The endpoints of each (store, event type), enabled and subscribed.
type Subscribers = HashMap<(String, T), Vec<String>>;

/// Writes the webhook events of the writer's batch, in its transaction.
/// Stores that `hooked` says have no endpoint cost no read.
pub(in crate::store::sqlite) fn write_cart_events(
    conn: &Connection,
    changes: &[&ChangeRecord],
    hooked: &HookedStores,
    debounce_ms: i64,
) -> Result<()> {
    let mut stores: BTreeSet<&str> = (changes.iter())
        .filter(|r| !r.hooks.is_empty())
        .map(|r| r.hooks.store_id.as_str())
        .collect();
    hooked.retain_marked(&mut stores);
    if stores.is_empty() {
        return Ok(());
    }
    let subscribers = subscribers(conn, &stores)?;
    if subscribers.is_empty() {
        return Ok(());
    }
    for record in changes.iter().filter(|r| !r.hooks.is_empty()) {
        write_change_events(conn, record, &subscribers, debounce_ms)?;
    }
    Ok(())
}

fn write_change_events(
    conn: &Connection,
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
        if !merge_items(conn, kind, &data, at)? {
            let event = Event::new(store, kind, Some(cart), &data, at)?;
            insert(conn, &event, at + debounce_ms, to(kind))?;
        }
    }
    if hooks.locked && !to(T::CartLocked).is_empty() {
        // A change carries the cart's name only when it changed; the row
        // has it otherwise (this batch's summaries are written already).
        let cart_name = match &record.summary {
            Some(summary) => summary.name.clone(),
            None => conn
                .prepare_cached("SELECT name FROM carts WHERE id = ?")?
                .query_row([cart.to_string()], |row| row.get(0))?,
        };
        let data = WebhookCartLockedData {
            cart_id: cart,
            cart_name,
            subtotal: record.activity.subtotal,
            currency: record.activity.currency.clone(),
            line_count: record.line_count,
        };
        let event = Event::new(store, T::CartLocked, Some(cart), &data, at)?;
        insert(conn, &event, at, to(T::CartLocked))?;
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
        insert(conn, &event, at, to(T::BudgetExceeded))?;
    }
    Ok(())
}

/// Merges `data` into the open event of its cart and type; false when
/// there is none.
fn merge_items(conn: &Connection, kind: T, data: &WebhookCartItemsData, at: i64) -> Result<bool> {
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
    let mut merged: WebhookCartItemsData = serde_json::from_str(&open)
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
    conn.prepare_cached("UPDATE webhook_events SET data = ? WHERE id = ?")?
        .execute(params![to_json(&merged)?, id])?;
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
        let events: Vec<T> = serde_json::from_str(&events)
            .map_err(|e| StoreError::Corrupt(format!("webhook events: {e}")))?;
        for kind in events {
            found
                .entry((row.get(1)?, kind))
                .or_default()
                .push(row.get(0)?);
        }
    }
    Ok(found)
}
