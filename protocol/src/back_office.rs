//! The store API (`docs/protocol.md` section 14): a store's API keys, which
//! its owners manage with their session (`/api/store/keys`), and what a
//! back office does with a key (`/api/v1/store/*`): test the connection,
//! sync the catalog and the customers, export the orders.
//!
//! Lists are pages read with an opaque `cursor`: pass the `cursor` of one
//! page as `after` to get the next; `has_more` says whether to go on.

use serde::{Deserialize, Deserializer, Serialize};

use crate::checkout::OrderView;
use crate::http::{ErrorDetail, GroupBuy, StoreInfo};

/// The most live (not revoked) keys a store may have.
pub const MAX_LIVE_KEYS: usize = 20;
/// Longest key name, in characters.
pub const MAX_KEY_NAME_CHARS: usize = 80;
/// Characters of a secret shown to tell keys apart (`crk_` and 8 more).
pub const KEY_PREFIX_CHARS: usize = 12;
/// Requests a second one key may send (sustained), and its burst.
pub const KEY_REQUESTS_PER_SECOND: u32 = 20;
/// Burst allowance of the per-key rate limit.
pub const KEY_REQUESTS_BURST: u32 = 100;
/// Most items in one upsert or import.
pub const MAX_BATCH_ITEMS: usize = 500;
/// Largest body of a store API request, in bytes (1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Items per page unless `limit` says otherwise.
pub const DEFAULT_PAGE: usize = 100;
/// The most items a page of products or customers holds.
pub const MAX_PAGE: usize = 500;
/// Orders per page at most (each carries its lines, shares and addresses).
pub const MAX_ORDER_PAGE: usize = 100;
/// Longest product or customer name, in characters.
pub const MAX_PRODUCT_NAME_CHARS: usize = 200;
/// Longest `image_url`, in bytes.
pub const MAX_IMAGE_URL_LEN: usize = 2048;
/// Longest imported e-mail, in bytes.
pub const MAX_EMAIL_LEN: usize = 254;
/// Longest external id of a customer, in characters.
pub const MAX_EXTERNAL_ID_LEN: usize = 128;
/// Highest price a product may have (minor units).
pub const MAX_PRICE: i64 = 100_000_000;
/// Highest stock a product may have.
pub const MAX_STOCK: i64 = 1_000_000;
/// Longest `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;
/// How long the answer to an `Idempotency-Key` is kept (24 h, in ms).
pub const IDEMPOTENCY_TTL_MS: i64 = 24 * 60 * 60 * 1000;
/// A first request with a key that has not answered after this long (its
/// server stopped mid-way) no longer holds the key: the same request runs again.
pub const IDEMPOTENCY_RUNNING_MS: i64 = 60 * 1000;

/// One API key as its store's owners see it (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    /// The secret's first 12 characters, e.g. `crk_3f9a1c2b`.
    pub prefix: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms, to the minute; `null` when never used.
    pub last_used_at: Option<i64>,
    /// Unix ms; `null` while the key works.
    pub revoked_at: Option<i64>,
}

/// `GET /api/store/keys`: newest first, revoked ones included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ApiKeysResponse {
    pub keys: Vec<ApiKeyView>,
}

/// `POST /api/store/keys`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    pub name: String,
}

/// The answer to `POST /api/store/keys`: the only time the secret is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CreatedApiKey {
    pub key: ApiKeyView,
    /// `crk_` and 64 hex digits.
    pub secret: String,
}

/// The key a request was made with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct KeyInfo {
    pub id: String,
    pub name: String,
    pub prefix: String,
}

/// `GET /api/v1/store/ping`: the key works, for this store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PingResponse {
    pub store: StoreInfo,
    pub key: KeyInfo,
}

/// One product of an upsert: every field but `currency`, `image_url` and
/// `group_buy` is required. `currency`, when given, must be the store's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ProductUpsert {
    pub sku: String,
    pub name: String,
    /// Minor units.
    pub price: i64,
    pub stock: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Absent or `null`: the picture the server draws.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// Absent or `null`: no group-buy tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_buy: Option<GroupBuy>,
}

/// `POST /api/v1/store/products`: at most 500 products, each applied or
/// refused on its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct UpsertProductsRequest {
    pub products: Vec<ProductUpsert>,
}

/// A `null` that means "clear it", told apart from an absent field.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `PATCH /api/v1/store/products/{sku}`: only the fields given change;
/// `image_url` or `group_buy` set to `null` are removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock: Option<i64>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(test, ts(optional = nullable))]
    pub image_url: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(test, ts(optional = nullable))]
    pub group_buy: Option<Option<GroupBuy>>,
}

/// What became of one item of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Created,
    Updated,
    /// It was already so: nothing was written.
    Unchanged,
    /// Refused; `error` says why. The other items are applied.
    Error,
}

/// One product's result, in the order of the request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ProductResult {
    /// As sent (empty when the item had none).
    pub sku: String,
    pub status: ItemStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

/// The answer to `POST /api/v1/store/products`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct UpsertProductsResponse {
    pub results: Vec<ProductResult>,
}

/// A product as the sync API shows it; an unlisted one has `deleted: true`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SyncProduct {
    pub sku: String,
    pub name: String,
    pub price: i64,
    pub currency: String,
    pub stock: i64,
    /// The given picture, or the one the server draws.
    pub image_url: String,
    pub group_buy: Option<GroupBuy>,
    /// Unix ms of the last change (an order taking stock counts).
    pub updated_at: i64,
    pub deleted: bool,
}

/// `GET /api/v1/store/products`: changes in the order they were made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ProductsPage {
    pub products: Vec<SyncProduct>,
    /// Pass as `after` for the next page (also when this one is empty).
    pub cursor: String,
    pub has_more: bool,
}

/// One customer of an import, by e-mail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CustomerImport {
    pub email: String,
    pub name: String,
    /// The back office's own id for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

/// `POST /api/v1/store/customers`: at most 500.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ImportCustomersRequest {
    pub customers: Vec<CustomerImport>,
}

/// One customer's result, in the order of the request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CustomerResult {
    /// As sent (empty when the item had none).
    pub email: String,
    pub status: ItemStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

/// The answer to `POST /api/v1/store/customers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ImportCustomersResponse {
    pub results: Vec<CustomerResult>,
}

/// A customer as the store knows them: imported, or met at the support desk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StoreCustomer {
    pub id: String,
    pub email: Option<String>,
    pub name: String,
    pub phone: Option<String>,
    pub external_id: Option<String>,
    /// Whether an account with the e-mail exists (it is linked).
    pub linked: bool,
    /// Unix ms of the last change.
    pub updated_at: i64,
}

/// `GET /api/v1/store/customers`: changes in the order they were made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CustomersPage {
    pub customers: Vec<StoreCustomer>,
    pub cursor: String,
    pub has_more: bool,
}

/// `GET /api/v1/store/orders`: orders in the order they were placed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StoreOrdersPage {
    pub orders: Vec<OrderView>,
    pub cursor: String,
    pub has_more: bool,
}
