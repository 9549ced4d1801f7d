//! The bodies of merchant shares (`docs/protocol.md` section 11, "Merchant
//! shares"): the store's staff send a cart they built to a customer by
//! e-mail; the customer opens it **live** (joins the staff's cart as an
//! editor) or takes a **copy** (a new cart of their own with the same lines
//! at the prices of now). Neither touches a cart the customer already has.

use serde::{Deserialize, Serialize};

use crate::ids::CartId;
pub use crate::ids::OfferId;
use crate::messages::MemberRole;
use crate::sharing::{Acceptor, Delivery};

/// `POST /api/carts/{id}/offers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct OfferRequest {
    pub email: String,
    /// At most 1,000 characters; may hold line breaks.
    #[serde(default)]
    pub message: String,
    /// 1..=365; 14 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<u32>,
}

/// How a customer took a cart that was sent to them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum OfferMode {
    /// Joined the staff's cart as an editor.
    Live,
    /// A new cart of their own with the same lines.
    Copy,
}

/// Where a merchant share stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    Pending,
    AcceptedLive,
    AcceptedCopy,
    Expired,
}

/// A merchant share as the cart's admins see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Offer {
    pub id: OfferId,
    pub cart_id: CartId,
    pub email: String,
    pub message: String,
    /// The name of the staff member who sent it.
    pub sent_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub status: OfferStatus,
    pub accepted_by: Option<Acceptor>,
    pub accepted_at: Option<i64>,
    /// The customer's own cart, once they took a copy.
    pub copy_cart_id: Option<CartId>,
    /// Its e-mail.
    pub delivery: Delivery,
}

/// `GET /api/carts/{id}/offers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct OffersResponse {
    pub offers: Vec<Offer>,
}

/// `POST /api/offers/lookup`: what the token offers, before the customer
/// chooses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct OfferPreview {
    pub store_name: String,
    pub cart_name: String,
    pub sent_by: String,
    pub message: String,
    /// The address it was sent to, to fill in a sign-up form.
    pub email: String,
    pub expires_at: i64,
    /// Lines of the cart and their sum now (minor units of `currency`).
    pub line_count: i64,
    pub subtotal: i64,
    pub currency: String,
}

/// `POST /api/offers/accept`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct OfferAcceptRequest {
    pub token: String,
    pub mode: OfferMode,
}

/// The answer of `POST /api/offers/accept`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct OfferAcceptResponse {
    /// Live: the staff's cart; copy: the customer's new cart.
    pub cart_id: CartId,
    pub mode: OfferMode,
    /// The caller's role in `cart_id`.
    pub role: MemberRole,
    /// True when the caller had accepted this offer the same way before:
    /// nothing changed.
    pub already_accepted: bool,
    /// Skus of the copy that could not be added now (sold out, no longer
    /// sold); empty when live.
    pub skipped: Vec<String>,
}
