//! API keys: only the hash of a secret is stored.

use cartroom_protocol::back_office::ApiKeyView;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use crate::store::Result;
use crate::store::back_office::{KeyRecord, NewKey};

const COLUMNS: &str = "id, store_id, name, prefix, created_at, last_used_at, revoked_at";

fn view(row: &PgRow) -> ApiKeyView {
    ApiKeyView {
        id: row.get("id"),
        name: row.get("name"),
        prefix: row.get("prefix"),
        created_at: row.get("created_at"),
        last_used_at: row.get("last_used_at"),
        revoked_at: row.get("revoked_at"),
    }
}

pub(super) async fn list(pool: &PgPool, store: &str) -> Result<Vec<ApiKeyView>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM store_api_keys WHERE store_id = $1 ORDER BY created_at DESC, id"
    );
    let rows = sqlx::query(&sql).bind(store).fetch_all(pool).await?;
    Ok(rows.iter().map(view).collect())
}

/// Counts and inserts in one transaction, so that two owners creating keys
/// at once cannot pass the bound together. SQLite had one writer at a
/// time; here the transaction first takes a lock of the store's keys (an
/// advisory lock held until it ends), so that the count it reads is the
/// count it inserts beside.
pub(super) async fn insert(
    pool: &PgPool,
    key: NewKey<'_>,
    max_live: usize,
) -> Result<Option<ApiKeyView>> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('cartroom.api_keys.' || $1))")
        .bind(key.store_id)
        .execute(&mut *tx)
        .await?;
    let live: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM store_api_keys WHERE store_id = $1 AND revoked_at IS NULL",
    )
    .bind(key.store_id)
    .fetch_one(&mut *tx)
    .await?;
    if usize::try_from(live).unwrap_or(usize::MAX) >= max_live {
        return Ok(None);
    }
    sqlx::query(
        "INSERT INTO store_api_keys (id, store_id, name, prefix, secret_hash, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(key.id)
    .bind(key.store_id)
    .bind(key.name)
    .bind(key.prefix)
    .bind(key.secret_hash)
    .bind(key.created_by)
    .bind(key.now_ms)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(ApiKeyView {
        id: key.id.to_owned(),
        name: key.name.to_owned(),
        prefix: key.prefix.to_owned(),
        created_at: key.now_ms,
        last_used_at: None,
        revoked_at: None,
    }))
}

/// One statement: a second revocation keeps the first time.
pub(super) async fn revoke(pool: &PgPool, store: &str, id: &str, now_ms: i64) -> Result<bool> {
    let found = sqlx::query(
        "UPDATE store_api_keys SET revoked_at = COALESCE(revoked_at, $1)
         WHERE store_id = $2 AND id = $3",
    )
    .bind(now_ms)
    .bind(store)
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(found > 0)
}

pub(super) async fn by_hash(pool: &PgPool, secret_hash: &str) -> Result<Option<KeyRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM store_api_keys WHERE secret_hash = $1");
    let row = sqlx::query(&sql)
        .bind(secret_hash)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|row| KeyRecord {
        view: view(&row),
        store_id: row.get("store_id"),
    }))
}

pub(super) async fn touch(pool: &PgPool, id: &str, now_ms: i64) -> Result<()> {
    sqlx::query("UPDATE store_api_keys SET last_used_at = $1 WHERE id = $2")
        .bind(now_ms)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}
