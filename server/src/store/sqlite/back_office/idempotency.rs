//! Answers kept for requests sent with an `Idempotency-Key`.

use sqlx::{Row, SqlitePool};

use crate::store::Result;
use crate::store::back_office::Replay;

/// Forgets expired keys, then claims `key` or reports what it holds, in one
/// write transaction (two requests with one key cannot both claim it).
pub(super) async fn claim(
    pool: &SqlitePool,
    store: &str,
    key: &str,
    fingerprint: &str,
    now_ms: i64,
    expires_at: i64,
) -> Result<Replay> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query("DELETE FROM store_idempotency WHERE expires_at <= ?")
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    let found = sqlx::query(
        "SELECT fingerprint, status, body FROM store_idempotency WHERE store_id = ? AND key = ?",
    )
    .bind(store)
    .bind(key)
    .fetch_optional(&mut *tx)
    .await?;
    let replay = match found {
        Some(row) => {
            let stored: String = row.get("fingerprint");
            let status: Option<i64> = row.get("status");
            match status {
                _ if stored != fingerprint => Replay::Conflict,
                None => Replay::Running,
                Some(status) => Replay::Answered {
                    status: u16::try_from(status).unwrap_or(500),
                    body: row.get::<Option<Vec<u8>>, _>("body").unwrap_or_default(),
                },
            }
        }
        None => {
            sqlx::query(
                "INSERT INTO store_idempotency (store_id, key, fingerprint, expires_at)
                 VALUES (?, ?, ?, ?)",
            )
            .bind(store)
            .bind(key)
            .bind(fingerprint)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
            Replay::Claimed
        }
    };
    tx.commit().await?;
    Ok(replay)
}

pub(super) async fn answer(
    pool: &SqlitePool,
    store: &str,
    key: &str,
    status: u16,
    body: &[u8],
) -> Result<()> {
    sqlx::query("UPDATE store_idempotency SET status = ?, body = ? WHERE store_id = ? AND key = ?")
        .bind(i64::from(status))
        .bind(body)
        .bind(store)
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn release(pool: &SqlitePool, store: &str, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM store_idempotency WHERE store_id = ? AND key = ? AND status IS NULL")
        .bind(store)
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}
