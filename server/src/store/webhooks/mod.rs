//! Webhooks as the store keeps them: a store's endpoints, the outbox of
//! events and the retry state of each (event, endpoint), and the log of
//! attempts.
//!
//! Events are written by the transaction of what caused them (an order, a
//! share accepted, a cart change committed by the writer, which carries
//! [`CartHooks`] for that), and only for stores with an enabled endpoint
//! subscribed to them. The delivery worker (`crate::integrations::webhooks`)
//! claims what is due, and records each attempt here.

mod cart_events;

use std::sync::Arc;

use async_trait::async_trait;
use cartroom_protocol::checkout::OrderStatus;
use cartroom_protocol::webhooks::{WebhookDelivery, WebhookEndpointView, WebhookEventType};
use cartroom_protocol::{CartId, MemberRole, UserId};
use tokio::sync::Notify;

pub(super) use self::cart_events::{
    CartEvent, CartEventBody, Subscribers, cart_events, hooked_stores, merge_items, subscribe,
};
use super::sharing::NewMail;
use super::{Result, StoreError};

/// What a committed cart change means to the store's webhooks; most
/// changes carry nothing (no line changed, nothing locked, no budget passed).
#[derive(Clone, Debug, Default)]
pub struct CartHooks {
    pub store_id: String,
    /// The products whose quantity changed: `(sku, name, delta)`.
    pub lines: Vec<(String, String, i64)>,
    /// The change locked the cart.
    pub locked: bool,
    /// Members the change took over budget: `(user id, name, budget, share)`.
    pub over_budget: Vec<(String, String, i64, i64)>,
}

impl CartHooks {
    /// Whether there is anything to tell.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && !self.locked && self.over_budget.is_empty()
    }
}

/// A new endpoint, as its owner registers it.
#[derive(Clone, Debug)]
pub struct NewEndpoint {
    pub id: String,
    pub store_id: String,
    pub url: String,
    pub events: Vec<WebhookEventType>,
    pub secret: String,
    pub now_ms: i64,
}

/// A change of an endpoint; `None` keeps a field.
#[derive(Clone, Debug, Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub events: Option<Vec<WebhookEventType>>,
    pub enabled: Option<bool>,
}

/// One delivery the worker has claimed: the event, where it goes, and the
/// attempt row already logged for it.
#[derive(Clone, Debug)]
pub struct ClaimedDelivery {
    pub event_id: String,
    pub kind: WebhookEventType,
    pub store_id: String,
    /// Unix ms the event happened.
    pub created_at: i64,
    /// The event's `data`, as JSON text (final once claimed).
    pub data: String,
    pub endpoint_id: String,
    pub url: String,
    pub secret: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The row of this attempt in the delivery log.
    pub log_id: i64,
}

/// How an attempt went, for the delivery log.
#[derive(Clone, Debug)]
pub struct AttemptOutcome {
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// What follows a failed attempt.
#[derive(Clone, Debug)]
pub enum AfterFailure {
    /// Try again at this time (Unix ms).
    RetryAt(i64),
    /// Stop: disable the endpoint with this reason, drop what waits for it,
    /// and queue this e-mail to each of the store's owners (its recipient
    /// is replaced by each owner's address).
    Disable { reason: String, mail: NewMail },
}

/// Webhook endpoints, their outbox and their delivery log.
#[async_trait]
pub trait Webhooks: Send + Sync {
    /// Woken after this node commits a webhook event, where only this
    /// node's transactions write them (SQLite: one node per database).
    /// `None` where other nodes write them too: the worker then looks at
    /// the outbox every short while.
    fn events_written(&self) -> Option<Arc<Notify>> {
        None
    }

    /// The store's endpoints, oldest first.
    async fn endpoints(&self, store_id: &str) -> Result<Vec<WebhookEndpointView>>;

    /// Registers an endpoint; false when the store has `max` already.
    async fn create_endpoint(&self, endpoint: &NewEndpoint, max: usize) -> Result<bool>;

    /// Changes the store's endpoint; `None` when it has no such endpoint.
    /// Disabling drops the events waiting for it; enabling clears its
    /// `disabled_reason` and `failing_since`.
    async fn update_endpoint(
        &self,
        store_id: &str,
        id: &str,
        change: &EndpointChange,
    ) -> Result<Option<WebhookEndpointView>>;

    /// Deletes the store's endpoint with its log; false when there is none.
    async fn delete_endpoint(&self, store_id: &str, id: &str) -> Result<bool>;

    /// The endpoint's latest attempts, newest first; `None` when the store
    /// has no such endpoint.
    async fn deliveries(
        &self,
        store_id: &str,
        id: &str,
        limit: usize,
    ) -> Result<Option<Vec<WebhookDelivery>>>;

    /// Releases every claim: deliveries cut by a stop or a crash are due
    /// again. Called once when the worker starts (one worker per database).
    async fn release_claims(&self) -> Result<()>;

    /// Claims up to `limit` deliveries due at `now_ms` (to enabled
    /// endpoints, at most `per_endpoint` in flight to each), seals their
    /// events' bodies and logs an attempt for each.
    async fn claim_due(
        &self,
        now_ms: i64,
        limit: usize,
        per_endpoint: usize,
    ) -> Result<Vec<ClaimedDelivery>>;

    /// When the next unclaimed delivery is due, if any.
    async fn next_due(&self) -> Result<Option<i64>>;

    /// Logs a delivered attempt and forgets the delivery; the endpoint is
    /// failing no more.
    async fn delivered(&self, claimed: &ClaimedDelivery, outcome: &AttemptOutcome) -> Result<()>;

    /// Logs a failed attempt, then retries or disables the endpoint; true
    /// when e-mails were queued.
    async fn failed(
        &self,
        claimed: &ClaimedDelivery,
        outcome: &AttemptOutcome,
        next: &AfterFailure,
        now_ms: i64,
    ) -> Result<bool>;
}

/// An endpoint's event types as stored (a JSON array), read back.
pub(super) fn parse_events(text: &str) -> Result<Vec<WebhookEventType>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("webhook events: {e}")))
}

/// An event type as stored, read back.
pub(super) fn parse_kind(text: &str) -> Result<WebhookEventType> {
    WebhookEventType::parse(text)
        .ok_or_else(|| StoreError::Corrupt(format!("bad webhook event type {text:?}")))
}

/// An endpoint's event types as stored.
pub(super) fn events_json(events: &[WebhookEventType]) -> String {
    serde_json::to_string(events).unwrap_or_else(|_| "[]".to_owned())
}

/// An order's move from one status to another, by someone: what its
/// `order.status_changed` event says, written in the transaction that moves it.
pub(super) struct StatusChange<'a> {
    pub(super) order_id: &'a str,
    pub(super) store_id: &'a str,
    pub(super) previous: OrderStatus,
    pub(super) status: OrderStatus,
    pub(super) by_name: &'a str,
    pub(super) now_ms: i64,
}

/// Someone joined a cart with an invitation or a share link: what its
/// `share.accepted` event says, written in the transaction that makes the member.
pub(super) struct Accepted<'a> {
    pub(super) cart: CartId,
    /// `invitation` or `link`.
    pub(super) via: &'static str,
    pub(super) share_id: &'a str,
    pub(super) user: UserId,
    pub(super) role: MemberRole,
    pub(super) invited_by: UserId,
    pub(super) now_ms: i64,
}
