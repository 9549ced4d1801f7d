//! Answers kept for requests sent with an `Idempotency-Key`.

use cartroom_protocol::back_office::IDEMPOTENCY_RUNNING_MS;
use sqlx::{Row, SqlitePool};

use crate::store::Result;
use crate::store::back_office::Replay;

/// Forgets expired keys, then claims `key` or reports what it holds, in one
/// write transaction (two requests with one key cannot both claim it). A
/// claim without an answer for [`IDEMPOTENCY_RUNNING_MS`] was cut (a
/// stopped server): the same request claims it again.
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
        "SELECT fingerprint, status, body, expires_at FROM store_idempotency
         WHERE store_id = ? AND key = ?",
    )
    .bind(store)
    .bind(key)
    .fetch_optional(&mut *tx)
    .await?;
    let replay = match found {
        Some(row) => {
            let stored: String = row.get("fingerprint");
            let status: Option<i64> = row.get("status");
            // Claims are made with `expires_at` a TTL after the claim.
            let claimed_at = row.get::<i64, _>("expires_at") - (expires_at - now_ms);
            match status {
                _ if stored != fingerprint => Replay::Conflict,
                None if now_ms - claimed_at >= IDEMPOTENCY_RUNNING_MS => {
                    sqlx::query(
                        "UPDATE store_idempotency SET expires_at = ? WHERE store_id = ? AND key = ?",
                    )
                    .bind(expires_at)
                    .bind(store)
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
                    Replay::Claimed
                }
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

#[cfg(test)]
mod tests {
    use cartroom_protocol::back_office::IDEMPOTENCY_TTL_MS;

    use super::*;
    use crate::config::Config;
    use crate::store::sqlite::SqliteStore;

    #[tokio::test]
    async fn a_claim_cut_by_a_stopped_server_is_taken_again_after_a_minute() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&Config::for_data_dir(dir.path()))
            .await
            .unwrap();
        let pool = &store.pool;
        let at = |now: i64| (now, now + IDEMPOTENCY_TTL_MS);
        let (now, expires) = at(1_000_000);
        let first = claim(pool, "demo", "k", "f", now, expires).await.unwrap();
        assert!(matches!(first, Replay::Claimed));
        let (now, expires) = at(1_000_000 + IDEMPOTENCY_RUNNING_MS - 1);
        let soon = claim(pool, "demo", "k", "f", now, expires).await.unwrap();
        assert!(matches!(soon, Replay::Running), "{soon:?}");
        let other = claim(pool, "demo", "k", "g", now, expires).await.unwrap();
        assert!(matches!(other, Replay::Conflict), "{other:?}");
        let (now, expires) = at(1_000_000 + IDEMPOTENCY_RUNNING_MS);
        let again = claim(pool, "demo", "k", "f", now, expires).await.unwrap();
        assert!(matches!(again, Replay::Claimed), "{again:?}");
        answer(pool, "demo", "k", 200, b"{}").await.unwrap();
        let (now, expires) = at(1_000_000 + 10 * IDEMPOTENCY_RUNNING_MS);
        let replayed = claim(pool, "demo", "k", "f", now, expires).await.unwrap();
        assert!(
            matches!(replayed, Replay::Answered { status: 200, .. }),
            "{replayed:?}"
        );
    }
}
