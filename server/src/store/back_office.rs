//! The store API's storage: API keys, answers kept for idempotent
//! requests, the catalog and customers as a back office syncs them, and the
//! order export sequence (`docs/protocol.md` section 14).

use async_trait::async_trait;
use cartroom_protocol::back_office::{ApiKeyView, ItemStatus, StoreCustomer, SyncProduct};
use cartroom_protocol::http::GroupBuy;

use super::Result;

/// A key as the API checks it.
#[derive(Clone, Debug)]
pub struct KeyRecord {
    pub view: ApiKeyView,
    pub store_id: String,
}

/// A key to insert; only the hash of its secret is kept.
pub struct NewKey<'a> {
    pub id: &'a str,
    pub store_id: &'a str,
    pub name: &'a str,
    pub prefix: &'a str,
    pub secret_hash: &'a str,
    pub created_by: &'a str,
    pub now_ms: i64,
}

/// What an `Idempotency-Key` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replay {
    /// The key is new: it is now held for this request.
    Claimed,
    /// The same request, answered: its status and body.
    Answered { status: u16, body: Vec<u8> },
    /// The same request, still running.
    Running,
    /// Another request used the key.
    Conflict,
}

/// A product's fields as a sync writes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductFields {
    pub name: String,
    pub price: i64,
    pub stock: i64,
    pub image_url: Option<String>,
    pub group_buy: Option<GroupBuy>,
}

/// One product change of a sync, by sku.
#[derive(Clone, Debug)]
pub enum ProductWrite {
    /// Create it (listed) or replace its fields (listing it again).
    Upsert(ProductFields),
    /// Change the fields given of a listed product.
    Patch(ProductPatchFields),
    /// Unlist it.
    Unlist,
}

/// The fields a patch changes (`None`: unchanged).
#[derive(Clone, Debug, Default)]
pub struct ProductPatchFields {
    pub name: Option<String>,
    pub price: Option<i64>,
    pub stock: Option<i64>,
    pub image_url: Option<Option<String>>,
    pub group_buy: Option<Option<GroupBuy>>,
}

/// A product row as a transaction found and left it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductRow {
    pub fields: ProductFields,
    pub color: String,
    pub listed: bool,
}

/// What one write did: `before` and `after` are read in its transaction,
/// so that memory can take the stock as a delta.
#[derive(Clone, Debug)]
pub struct ProductOutcome {
    pub sku: String,
    pub status: ItemStatus,
    pub before: Option<ProductRow>,
    pub after: Option<ProductRow>,
}

/// One customer of an import.
#[derive(Clone, Debug)]
pub struct CustomerWrite {
    /// Trimmed and lower-cased.
    pub email: String,
    pub name: String,
    pub external_id: Option<String>,
}

/// The store API's storage.
#[async_trait]
pub trait BackOfficeStore: Send + Sync {
    /// The store's keys, newest first.
    async fn list_keys(&self, store: &str) -> Result<Vec<ApiKeyView>>;

    /// Inserts a key unless the store has `max_live` live keys already.
    async fn insert_key(&self, key: NewKey<'_>, max_live: usize) -> Result<Option<ApiKeyView>>;

    /// Revokes a key of the store (keeping the first revocation time);
    /// false when the store has no such key.
    async fn revoke_key(&self, store: &str, id: &str, now_ms: i64) -> Result<bool>;

    /// The key whose secret has this hash.
    async fn key_by_hash(&self, secret_hash: &str) -> Result<Option<KeyRecord>>;

    async fn touch_key(&self, id: &str, now_ms: i64) -> Result<()>;

    /// Looks up an `Idempotency-Key` of the store, claiming it when new
    /// (and forgetting expired ones).
    async fn claim_idempotency(
        &self,
        store: &str,
        key: &str,
        fingerprint: &str,
        now_ms: i64,
        expires_at: i64,
    ) -> Result<Replay>;

    /// Keeps the answer of a claimed key.
    async fn answer_idempotency(
        &self,
        store: &str,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> Result<()>;

    /// Gives a claimed key up (the request failed in a way worth retrying).
    async fn release_idempotency(&self, store: &str, key: &str) -> Result<()>;

    /// Applies the writes in one transaction, each by its sku.
    async fn write_products(
        &self,
        store: &str,
        currency: &str,
        writes: Vec<(String, ProductWrite, String)>,
        now_ms: i64,
    ) -> Result<Vec<ProductOutcome>>;

    /// Products changed after `after` (a change sequence) and at or after
    /// `since` (Unix ms), in change order, with the sequence of each.
    async fn changed_products(
        &self,
        store: &str,
        since: i64,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, SyncProduct)>>;

    /// Imports customers in one transaction.
    async fn import_customers(
        &self,
        store: &str,
        customers: &[CustomerWrite],
        now_ms: i64,
    ) -> Result<Vec<ItemStatus>>;

    /// Customers changed after `after`, in change order.
    async fn changed_customers(
        &self,
        store: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, StoreCustomer)>>;

    /// Ids of the store's orders placed after `after` (an export sequence),
    /// in placing order.
    async fn orders_after(
        &self,
        store: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, String)>>;
}
