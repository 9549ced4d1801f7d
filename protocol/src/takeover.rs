//! The support desk's side of a cart (`docs/protocol.md` section 13, "Cart
//! panel", "Watching carts", "Takeover", "History"): the panel of a
//! customer's carts beside a conversation, an agent's takeover of a
//! shopper's cart, the help code a guest reads out to an agent, and the
//! cart as it was at an earlier moment.
//!
//! A takeover is `requested` (the shopper has not answered), `active` (the
//! agent edits the cart as `"<name> (support)"`), `ended` (either side
//! ended it, or it was cancelled before an answer) or `declined`.

use serde::{Deserialize, Serialize};

use crate::http::LineView;
pub use crate::ids::TakeoverId;
use crate::ids::{CartId, Heads, UserId};

/// Lines per cart the panel shows unless asked for more.
pub const PANEL_DEFAULT_LINES: usize = 2;
/// The most lines one panel answer holds per store (and one page of lines).
pub const MAX_PANEL_LINES_PER_STORE: usize = 250;
/// The most carts per store one panel answer lists.
pub const MAX_PANEL_CARTS_PER_STORE: usize = 200;
/// The most changes a history answer lists (the latest ones).
pub const MAX_HISTORY_CHANGES: usize = 200;
/// Digits of a help code.
pub const HELP_CODE_DIGITS: usize = 6;
/// How long a help code may be used, in milliseconds (10 minutes).
pub const HELP_CODE_TTL_MS: i64 = 10 * 60 * 1000;

/// Where a takeover is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TakeoverStatus {
    /// Asked; the shopper has not answered yet.
    Requested,
    /// The agent edits the cart.
    Active,
    /// Ended by the shopper or the agent (or cancelled before an answer).
    Ended,
    /// The shopper said no.
    Declined,
}

impl TakeoverStatus {
    /// The stable string form, as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Active => "active",
            Self::Ended => "ended",
            Self::Declined => "declined",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "requested" => Some(Self::Requested),
            "active" => Some(Self::Active),
            "ended" => Some(Self::Ended),
            "declined" => Some(Self::Declined),
            _ => None,
        }
    }

    /// Requested or active: the cart has this takeover open.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Requested | Self::Active)
    }
}

/// How the shopper let the agent in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TakeoverGrant {
    /// The shopper answered a request (`POST /api/takeovers/{id}/consent`).
    Consent,
    /// The store waives consent for registered shoppers.
    Waived,
    /// The shopper read out a help code.
    HelpCode,
}

impl TakeoverGrant {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Consent => "consent",
            Self::Waived => "waived",
            Self::HelpCode => "help_code",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "consent" => Some(Self::Consent),
            "waived" => Some(Self::Waived),
            "help_code" => Some(Self::HelpCode),
            _ => None,
        }
    }
}

/// One takeover of a cart by an agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Takeover {
    pub id: TakeoverId,
    pub cart_id: CartId,
    pub store_id: String,
    pub agent_id: UserId,
    /// The agent's name as the cart shows it: `"Wade (support)"`.
    pub agent_name: String,
    /// The shopper who answers (or who gave the help code).
    pub shopper_id: UserId,
    pub status: TakeoverStatus,
    pub grant: TakeoverGrant,
    /// Unix ms.
    pub requested_at: i64,
    /// Unix ms; when it became active.
    pub started_at: Option<i64>,
    /// Unix ms; when it was ended or declined.
    pub ended_at: Option<i64>,
    /// Who ended or declined it.
    pub ended_by: Option<UserId>,
}

/// `POST /api/support/takeovers`: take over `cart_id` (a registered
/// shopper's cart) or the cart of a help `code` (a guest's). Exactly one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct StartTakeoverRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub cart_id: Option<CartId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub code: Option<String>,
}

/// `POST /api/takeovers/{id}/consent`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    pub accept: bool,
}

/// `POST /api/carts/{id}/help-code`: six digits the shopper reads out to
/// an agent, usable once until `expires_at` (unix ms).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct HelpCodeResponse {
    pub cart_id: CartId,
    pub code: String,
    pub expires_at: i64,
}

/// `GET /api/takeovers?cart=<id>`: the cart's open takeover, if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct OpenTakeoverResponse {
    pub takeover: Option<Takeover>,
}

/// How much of a product the store has left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum StockStatus {
    InStock,
    /// At most ten left, or less than twice the line's quantity.
    Low,
    /// None left, or fewer than the line's quantity.
    OutOfStock,
}

/// One line of a cart in the panel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PanelLine {
    pub line_id: String,
    pub sku: String,
    pub name: String,
    /// Where the product's picture is served.
    pub image_url: String,
    /// The list price, minor units.
    pub price: i64,
    /// What the cart pays per unit (the group-buy price once it applies).
    pub unit_price: i64,
    /// `price - unit_price` per unit: the group-buy discount, 0 without one.
    pub discount: i64,
    pub quantity: i64,
    pub line_total: i64,
    pub stock: StockStatus,
}

/// One of the customer's carts in the panel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PanelCart {
    pub cart_id: CartId,
    pub name: String,
    pub subtotal: i64,
    pub line_count: usize,
    /// The first lines (two unless asked for more), in the cart's order.
    pub lines: Vec<PanelLine>,
    /// More lines than these: page with `.../carts/{cart_id}/lines`.
    pub more: bool,
}

/// The customer's carts in one store the agent works for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PanelStore {
    pub store_id: String,
    pub store_name: String,
    pub currency: String,
    /// Most recently changed first.
    pub carts: Vec<PanelCart>,
    /// Lines or carts were left out to keep the answer within its bounds.
    pub truncated: bool,
}

/// `GET /api/support/conversations/{id}/carts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PanelResponse {
    pub stores: Vec<PanelStore>,
}

/// `GET /api/support/conversations/{id}/carts/{cart_id}/lines`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PanelLinesResponse {
    pub cart_id: CartId,
    pub offset: usize,
    pub lines: Vec<PanelLine>,
    /// Lines of the cart in all.
    pub line_count: usize,
    pub more: bool,
}

/// One change made after the moment a history answer shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct HistoryChange {
    /// The Automerge change hash.
    pub hash: String,
    /// Unix ms (Automerge keeps seconds).
    pub at: i64,
    pub user_id: Option<UserId>,
    /// The author as the cart showed them (`"Wade (support)"` during a takeover).
    pub user_name: String,
    /// The op kind (`add_line`, ...).
    pub kind: String,
}

/// `GET /api/carts/{id}/history?at=<unix ms>` or `?heads=<h1,h2>`: the
/// cart as it was then, and what changed since.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct HistoryResponse {
    pub cart_id: CartId,
    /// The heads of the document then.
    pub heads: Heads,
    pub name: String,
    pub currency: String,
    pub subtotal: i64,
    pub lines: Vec<LineView>,
    /// The heads of the document now.
    pub current_heads: Heads,
    /// Changes made since, oldest first (the latest
    /// [`MAX_HISTORY_CHANGES`] of them).
    pub changes: Vec<HistoryChange>,
    /// How many changes were made since in all.
    pub changes_total: usize,
}
