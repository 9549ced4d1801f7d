//! The bodies of the HTTP API (`docs/protocol.md` sections 1-4), both
//! directions. The server answers with these types and the Rust client reads
//! them; the web client's TypeScript types are generated from them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checkout::{CheckoutView, LineGroupBuy};
use crate::codes::ErrorCode;
use crate::ids::{CartId, Heads, OpId, UserId};
use crate::messages::{ActivityEvent, Capability, MemberRole, Op};

/// `{"error":{"code","message"}}`: every refused request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// The stable code and the words of a refusal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
}

/// A user account, guest or registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct User {
    pub id: UserId,
    /// `null` for a guest.
    pub email: Option<String>,
    pub name: String,
    pub guest: bool,
}

/// `POST /api/auth/signup`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    pub email: String,
    pub password: String,
    pub name: String,
}

/// `POST /api/auth/signin`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct SigninRequest {
    pub email: String,
    pub password: String,
    /// The 6-digit code of the authenticator app, for an account with
    /// two-factor sign-in on (docs/protocol.md section 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// One of the account's recovery codes, instead of `code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_code: Option<String>,
}

/// `GET /api/auth/totp`: whether the account has two-factor sign-in on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TotpStatus {
    pub enabled: bool,
}

/// `POST /api/auth/totp/enrol`: a fresh secret, pending until confirmed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TotpEnrolResponse {
    /// The shared secret, base32 (for typing into an app by hand).
    pub secret: String,
    /// The `otpauth://totp/...` URI the QR code holds.
    pub otpauth_uri: String,
    /// The QR code of `otpauth_uri`, as an SVG document.
    pub qr_svg: String,
}

/// `POST /api/auth/totp/confirm`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct TotpConfirmRequest {
    /// A current 6-digit code of the pending secret.
    pub code: String,
}

/// The answer to `POST /api/auth/totp/confirm`: shown once, never again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TotpConfirmResponse {
    /// Single-use codes that stand in for `code` when the app is lost.
    pub recovery_codes: Vec<String>,
}

/// `POST /api/auth/totp/disable`: one of the two.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct TotpDisableRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_code: Option<String>,
}

/// `POST /api/auth/guest`; the body is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct GuestRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The answer of every request that starts a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SessionResponse {
    pub user: User,
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Unix ms.
    pub expires_at: i64,
}

/// `GET /api/me`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct MeResponse {
    pub user: User,
}

/// A store selling from its catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StoreInfo {
    pub id: String,
    pub name: String,
    pub currency: String,
    /// The IANA time zone the store's people read times in, e.g.
    /// `America/New_York`.
    pub time_zone: String,
}

/// `GET /api/stores`: every store of the server, by id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StoresResponse {
    pub stores: Vec<StoreInfo>,
}

/// A lower unit price once a group buys at least `min_quantity`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct GroupBuy {
    pub min_quantity: i64,
    pub price: i64,
}

/// One product of the catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Product {
    pub sku: String,
    pub name: String,
    /// Minor units.
    pub price: i64,
    pub currency: String,
    pub stock: i64,
    pub image_url: String,
    pub group_buy: Option<GroupBuy>,
}

/// `GET /api/catalog`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CatalogResponse {
    pub products: Vec<Product>,
}

/// `PATCH /api/carts/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct NameRequest {
    pub name: String,
}

/// `POST /api/carts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CreateCartRequest {
    pub name: String,
    /// The store the cart buys from (`GET /api/stores`); the default store
    /// when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
}

/// A cart as listed for one of its members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CartSummary {
    pub id: CartId,
    /// The store the cart buys from.
    pub store_id: String,
    pub name: String,
    pub role: MemberRole,
    /// What the role allows (see `Capability`).
    pub capabilities: Vec<Capability>,
    pub subtotal: i64,
    pub currency: String,
    pub line_count: i64,
}

/// `GET /api/carts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CartsResponse {
    pub carts: Vec<CartSummary>,
}

/// One line of the JSON view of a cart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LineView {
    pub line_id: String,
    pub sku: String,
    pub name: String,
    pub unit_price: i64,
    pub quantity: i64,
    pub line_total: i64,
    pub note: String,
    pub added_by: String,
    pub added_by_name: String,
    pub added_at: i64,
    /// The product's group-buy tier, when it has one (`unit_price` is the
    /// tier's price once `active`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub group_buy: Option<LineGroupBuy>,
    /// Who pays for the line when it is not who added it (`assign_line`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub assigned_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub assigned_to_name: Option<String>,
    /// Units of the product left, once 5 or fewer are; 0 when it is out of
    /// stock or no longer sold (the store's catalog, section 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub stock_left: Option<i64>,
}

/// One open suggestion of the JSON view of a cart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SuggestionView {
    pub suggestion_id: String,
    pub sku: String,
    pub name: String,
    pub unit_price: i64,
    pub quantity: i64,
    pub note: String,
    pub by: String,
    pub by_name: String,
    pub at: i64,
    /// User id → -1 or 1.
    pub votes: BTreeMap<String, i64>,
    pub score: i64,
}

/// The server's JSON view of a cart document (lines and suggestions sorted
/// by key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CartView {
    pub name: String,
    pub note: String,
    pub currency: String,
    pub subtotal: i64,
    pub item_count: i64,
    pub lines: Vec<LineView>,
    pub suggestions: Vec<SuggestionView>,
    pub heads: Heads,
    /// Phase, deadline, budgets, approval, split, addresses, order
    /// (`docs/protocol.md` section 12); the server always sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub checkout: Option<CheckoutView>,
}

/// `GET /api/carts/{id}`: the view, and what the caller may do in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CartResponse {
    pub id: CartId,
    /// The store the cart buys from: its catalog is the one ops use.
    pub store_id: String,
    pub role: MemberRole,
    pub capabilities: Vec<Capability>,
    #[serde(flatten)]
    pub view: CartView,
}

/// `POST /api/carts/{id}/ops`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct OpRequest {
    pub op_id: OpId,
    pub op: Op,
}

/// The answer to an accepted op.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct OpAck {
    pub op_id: OpId,
    /// The document's heads right after the op.
    pub heads: Heads,
    /// True when this answers a retry of an op already applied.
    pub duplicate: bool,
    /// The id of what the op created (a suggestion's id), on the first
    /// answer only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

/// `GET /api/carts/{id}/activity`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ActivityResponse {
    /// Oldest first.
    pub activity: Vec<ActivityEvent>,
}

/// A member of a cart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Member {
    pub user_id: UserId,
    pub name: String,
    pub email: Option<String>,
    pub role: MemberRole,
}

/// `GET /api/carts/{id}/members`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct MembersResponse {
    pub members: Vec<Member>,
}

/// `POST /api/carts/{id}/members`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct AddMemberRequest {
    pub email: String,
    pub role: MemberRole,
}

/// `PATCH /api/carts/{id}/members/{user_id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    pub role: MemberRole,
}
