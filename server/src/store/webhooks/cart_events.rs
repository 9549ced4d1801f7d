//! The webhook events of a cart change, the same for every database: which
//! events a committed change makes, who hears of each, and how an item
//! event merges into the open one of its cart. The stores write them in the
//! writer's transaction (`sqlite::webhooks::cart_events`,
//! `postgres::webhooks::events`).
//!
//! Cart item events are debounced: while an event of the same cart and type
//! is open (its `open_until` not reached, its body not yet claimed by the
//! worker), a change merges its items into it instead of adding an event.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use cartroom_protocol::webhooks::{
    WebhookBudgetData, WebhookCartItemsData, WebhookCartLockedData, WebhookEventType as T,
    WebhookItem,
};

use crate::store::{ChangeRecord, Result, StoreError, parse_id};

/// The endpoints of each (store, event type), enabled and subscribed.
pub(in crate::store) type Subscribers = HashMap<(String, T), Vec<String>>;

/// Adds an enabled endpoint, read from its row (`events` as stored), to
/// the subscribers of each of its event types.
pub(in crate::store) fn subscribe(
    subscribers: &mut Subscribers,
    endpoint: String,
    store: String,
    events: &str,
) -> Result<()> {
    for kind in super::parse_events(events)? {
        (subscribers.entry((store.clone(), kind)).or_default()).push(endpoint.clone());
    }
    Ok(())
}

/// The stores whose webhooks may hear of these changes.
pub(in crate::store) fn hooked_stores<'a>(changes: &[&'a ChangeRecord]) -> BTreeSet<&'a str> {
    (changes.iter())
        .filter(|r| !r.hooks.is_empty())
        .map(|r| r.hooks.store_id.as_str())
        .collect()
}

/// One event a change makes, and the endpoints it goes to.
pub(in crate::store) struct CartEvent<'a> {
    pub(in crate::store) body: CartEventBody,
    pub(in crate::store) to: &'a [String],
}

pub(in crate::store) enum CartEventBody {
    /// Items added or removed: merged into the open event of its cart and
    /// type if there is one, else a new event, open for the debounce.
    Items(T, WebhookCartItemsData),
    /// The change locked the cart. `cart_name` is `None` when the change
    /// left the name alone: the cart's row has it.
    Locked {
        data: WebhookCartLockedData,
        cart_name: Option<String>,
    },
    BudgetExceeded(WebhookBudgetData),
}

/// The events `record` makes for its store's subscribed endpoints.
pub(in crate::store) fn cart_events<'a>(
    record: &ChangeRecord,
    subscribers: &'a Subscribers,
) -> Result<Vec<CartEvent<'a>>> {
    let hooks = &record.hooks;
    let to = |kind: T| {
        subscribers
            .get(&(hooks.store_id.clone(), kind))
            .map_or(&[][..], Vec::as_slice)
    };
    let cart = record.cart_id;
    let currency = &record.activity.currency;
    let mut events = Vec::new();
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
            currency: currency.clone(),
        };
        events.push(CartEvent {
            body: CartEventBody::Items(kind, data),
            to: to(kind),
        });
    }
    if hooks.locked && !to(T::CartLocked).is_empty() {
        let data = WebhookCartLockedData {
            cart_id: cart,
            cart_name: String::new(),
            subtotal: record.activity.subtotal,
            currency: currency.clone(),
            line_count: record.line_count,
        };
        let cart_name = record.summary.as_ref().map(|s| s.name.clone());
        events.push(CartEvent {
            body: CartEventBody::Locked { data, cart_name },
            to: to(T::CartLocked),
        });
    }
    if !to(T::BudgetExceeded).is_empty() {
        for (user, name, budget, share) in &hooks.over_budget {
            let data = WebhookBudgetData {
                cart_id: cart,
                user_id: parse_id(user)?,
                user_name: name.clone(),
                budget: *budget,
                share: *share,
                currency: currency.clone(),
            };
            events.push(CartEvent {
                body: CartEventBody::BudgetExceeded(data),
                to: to(T::BudgetExceeded),
            });
        }
    }
    Ok(events)
}

/// The body of the open item event `open` (JSON) with `data`'s items
/// added, quantities summed per SKU, and `data`'s figures.
pub(in crate::store) fn merge_items(open: &str, data: &WebhookCartItemsData) -> Result<String> {
    let mut merged: WebhookCartItemsData = serde_json::from_str(open)
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
    serde_json::to_string(&merged).map_err(|e| StoreError::Corrupt(format!("webhook data: {e}")))
}
