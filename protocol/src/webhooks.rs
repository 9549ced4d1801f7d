//! Webhooks (`docs/protocol.md` section 15): the endpoints a store's owner
//! registers, the deliveries logged for each, and the events the server
//! POSTs to them.
//!
//! Every event is a [`WebhookEvent`]: an envelope whose `id` is the same on
//! every retry of that event (receivers de-duplicate by it), whose `type`
//! names the event and whose `data` is that event's body.

use serde::{Deserialize, Serialize};

use crate::checkout::{OrderStatus, OrderView};
use crate::ids::{CartId, UserId};
use crate::messages::MemberRole;

/// Most endpoints one store may register.
pub const MAX_ENDPOINTS_PER_STORE: usize = 10;
/// Longest endpoint URL, in bytes.
pub const MAX_URL_LEN: usize = 2048;
/// Most deliveries kept (and listed) per endpoint; older ones are forgotten.
pub const MAX_DELIVERIES_KEPT: usize = 200;

/// What happened, as an event's `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum WebhookEventType {
    #[serde(rename = "order.created")]
    OrderCreated,
    #[serde(rename = "order.status_changed")]
    OrderStatusChanged,
    #[serde(rename = "cart.locked")]
    CartLocked,
    #[serde(rename = "cart.item_added")]
    CartItemAdded,
    #[serde(rename = "cart.item_removed")]
    CartItemRemoved,
    #[serde(rename = "share.accepted")]
    ShareAccepted,
    #[serde(rename = "budget.exceeded")]
    BudgetExceeded,
}

impl WebhookEventType {
    /// Every event type, in the documented order.
    pub const ALL: [Self; 7] = [
        Self::OrderCreated,
        Self::OrderStatusChanged,
        Self::CartLocked,
        Self::CartItemAdded,
        Self::CartItemRemoved,
        Self::ShareAccepted,
        Self::BudgetExceeded,
    ];

    /// The stable string form, as sent and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderCreated => "order.created",
            Self::OrderStatusChanged => "order.status_changed",
            Self::CartLocked => "cart.locked",
            Self::CartItemAdded => "cart.item_added",
            Self::CartItemRemoved => "cart.item_removed",
            Self::ShareAccepted => "share.accepted",
            Self::BudgetExceeded => "budget.exceeded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// A registered endpoint, as its owner sees it (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct WebhookEndpointView {
    pub id: String,
    pub url: String,
    pub events: Vec<WebhookEventType>,
    /// False once disabled, by its owner or after a day of failures.
    pub enabled: bool,
    /// Why it was disabled by the server (`null` when enabled, or disabled
    /// by the owner).
    pub disabled_reason: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms of the first failed attempt since the last success.
    pub failing_since: Option<i64>,
}

/// `GET /api/store/webhooks`: oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct WebhookEndpointsResponse {
    pub endpoints: Vec<WebhookEndpointView>,
}

/// `POST /api/store/webhooks`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// `http://` or `https://`, at most [`MAX_URL_LEN`] bytes.
    pub url: String,
    /// At least one; each type once.
    pub events: Vec<WebhookEventType>,
}

/// The answer to `POST /api/store/webhooks`: the secret is shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CreatedWebhook {
    pub endpoint: WebhookEndpointView,
    /// `whsec_` and 48 hex digits: the HMAC key of the signatures.
    pub secret: String,
}

/// `PATCH /api/store/webhooks/{id}`: absent fields stay as they are.
/// Enabling an endpoint clears its `disabled_reason` and `failing_since`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<WebhookEventType>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// One attempt to deliver one event to one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct WebhookDelivery {
    pub id: i64,
    pub event_id: String,
    pub event: WebhookEventType,
    /// 1 for the first attempt at this event, 2 for the first retry, ...
    pub attempt: u32,
    /// The HTTP status the endpoint answered; `null` when it did not answer.
    pub status: Option<u16>,
    /// Why the attempt failed; `null` for a 2xx answer.
    pub error: Option<String>,
    /// Unix ms the attempt started.
    pub at: i64,
    /// How long it took; `null` when it did not finish (the server stopped).
    pub duration_ms: Option<i64>,
}

/// `GET /api/store/webhooks/{id}/deliveries`: newest first, at most
/// [`MAX_DELIVERIES_KEPT`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct WebhookDeliveriesResponse {
    pub deliveries: Vec<WebhookDelivery>,
}

/// The body of every POST to an endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookEvent {
    /// The same on every delivery of this event: de-duplicate by it.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: WebhookEventType,
    /// Unix ms the event happened (for a debounced cart event, its first change).
    pub created_at: i64,
    pub store_id: String,
    /// The event's body: one of the `Webhook*Data` types, by `type`.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// `data` of `order.created`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookOrderCreatedData {
    pub order: OrderView,
}

/// `data` of `order.status_changed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookOrderStatusData {
    pub order_id: String,
    pub cart_id: CartId,
    pub status: OrderStatus,
    pub previous_status: OrderStatus,
    /// Who changed it.
    pub by_name: String,
}

/// One product of a cart event, by sku.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookItem {
    pub sku: String,
    pub name: String,
    /// How many were added (or removed), summed over the debounce window.
    pub quantity: i64,
}

/// `data` of `cart.item_added` and `cart.item_removed`: every change of
/// one cart in the debounce window, summed by sku.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookCartItemsData {
    pub cart_id: CartId,
    pub items: Vec<WebhookItem>,
    /// The cart's subtotal after the last change, in minor units.
    pub subtotal: i64,
    pub currency: String,
}

/// `data` of `cart.locked`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookCartLockedData {
    pub cart_id: CartId,
    pub cart_name: String,
    pub subtotal: i64,
    pub currency: String,
    pub line_count: i64,
}

/// `data` of `budget.exceeded`: a member's share went past their budget.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookBudgetData {
    pub cart_id: CartId,
    pub user_id: UserId,
    pub user_name: String,
    /// Minor units of `currency`.
    pub budget: i64,
    pub share: i64,
    pub currency: String,
}

/// `data` of `share.accepted`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookShareData {
    pub cart_id: CartId,
    /// `invitation` or `link`.
    pub via: String,
    /// The invitation's or the link's id.
    pub share_id: String,
    pub user_id: UserId,
    pub role: MemberRole,
    pub invited_by: UserId,
}
