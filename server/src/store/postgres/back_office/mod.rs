//! The store API's tables: API keys, idempotent answers, the catalog and
//! customers as synced, the order export sequence. A port of
//! `sqlite/back_office/`, method by method.
//!
//! Where SQLite relied on `BEGIN IMMEDIATE` (one writer at a time), these
//! files lock what they read, each said where: the key bound takes a lock
//! per store, an idempotency key leans on its primary key, and the product
//! and customer syncs take their table's cursor lock (the one the triggers
//! of `migrations_pg/0001_schema.sql` take), so that sequence order stays
//! commit order. Transactions that Postgres may break (a deadlock with
//! another writer, a row another writer committed first) run again, up to
//! [`ATTEMPTS`] times.

mod customers;
mod idempotency;
mod keys;
mod products;

use async_trait::async_trait;
use cartroom_protocol::back_office::{ApiKeyView, ItemStatus, StoreCustomer, SyncProduct};
use sqlx::Row;

use super::PgStore;
use crate::store::back_office::{
    BackOfficeStore, CustomerWrite, KeyRecord, NewKey, ProductOutcome, ProductWrite, Replay,
};
use crate::store::{Result, StoreError};

/// Runs of a sync transaction before its error is given up.
const ATTEMPTS: usize = 3;

/// Whether a failed transaction is worth running again: Postgres broke a
/// deadlock with another writer (`40P01`), or another writer committed a
/// row with the same key first (`23505`), which the next run reads.
fn worth_retrying(e: &StoreError) -> bool {
    let StoreError::Db(e) = e else {
        return false;
    };
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "40P01" || code == "23505")
}

#[async_trait]
impl BackOfficeStore for PgStore {
    async fn list_keys(&self, store: &str) -> Result<Vec<ApiKeyView>> {
        keys::list(&self.pool, store).await
    }

    async fn insert_key(&self, key: NewKey<'_>, max_live: usize) -> Result<Option<ApiKeyView>> {
        keys::insert(&self.pool, key, max_live).await
    }

    async fn revoke_key(&self, store: &str, id: &str, now_ms: i64) -> Result<bool> {
        keys::revoke(&self.pool, store, id, now_ms).await
    }

    async fn key_by_hash(&self, secret_hash: &str) -> Result<Option<KeyRecord>> {
        keys::by_hash(&self.pool, secret_hash).await
    }

    async fn touch_key(&self, id: &str, now_ms: i64) -> Result<()> {
        keys::touch(&self.pool, id, now_ms).await
    }

    async fn claim_idempotency(
        &self,
        store: &str,
        key: &str,
        fingerprint: &str,
        now_ms: i64,
        expires_at: i64,
    ) -> Result<Replay> {
        idempotency::claim(&self.pool, store, key, fingerprint, now_ms, expires_at).await
    }

    async fn answer_idempotency(
        &self,
        store: &str,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> Result<()> {
        idempotency::answer(&self.pool, store, key, status, body).await
    }

    async fn release_idempotency(&self, store: &str, key: &str) -> Result<()> {
        idempotency::release(&self.pool, store, key).await
    }

    async fn write_products(
        &self,
        store: &str,
        currency: &str,
        writes: Vec<(String, ProductWrite, String)>,
        now_ms: i64,
    ) -> Result<Vec<ProductOutcome>> {
        products::write(&self.pool, store, currency, writes, now_ms).await
    }

    async fn changed_products(
        &self,
        store: &str,
        since: i64,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, SyncProduct)>> {
        products::changed(&self.pool, store, since, after, limit).await
    }

    async fn import_customers(
        &self,
        store: &str,
        customers: &[CustomerWrite],
        now_ms: i64,
    ) -> Result<Vec<ItemStatus>> {
        customers::import(&self.pool, store, customers, now_ms).await
    }

    async fn changed_customers(
        &self,
        store: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, StoreCustomer)>> {
        customers::changed(&self.pool, store, after, limit).await
    }

    /// The export sequence is taken in the placing transaction (a trigger)
    /// under the orders cursor lock, held until that transaction ends, so
    /// sequences become visible in increasing order as on SQLite: a page
    /// never passes an order still to commit.
    async fn orders_after(
        &self,
        store: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, String)>> {
        let rows = sqlx::query(
            "SELECT export_seq, id FROM orders WHERE store_id = $1 AND export_seq > $2
             ORDER BY export_seq LIMIT $3",
        )
        .bind(store)
        .bind(after)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| (row.get("export_seq"), row.get("id")))
            .collect())
    }
}

#[cfg(test)]
mod tests;
