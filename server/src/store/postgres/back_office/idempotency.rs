//! Answers kept for requests sent with an `Idempotency-Key`.

use cartroom_protocol::back_office::IDEMPOTENCY_RUNNING_MS;
use sqlx::{PgPool, Row};

use crate::store::Result;
use crate::store::back_office::Replay;

/// Forgets expired keys, then claims `key` or reports what it holds. A
/// claim without an answer for [`IDEMPOTENCY_RUNNING_MS`] was cut (a
/// stopped server): the same request claims it again.
///
/// SQLite did this in one write transaction. Here two requests with one
/// key (on two nodes) cannot both claim it because of the primary key: the
/// claim is an `INSERT ... ON CONFLICT DO NOTHING`, which waits for a
/// concurrent insert of the key to commit, and the loser then reads the
/// winner's row `FOR UPDATE` (so that taking over a cut claim is decided
/// by one request too). Forgetting expired keys is a statement of its own
/// before the transaction, so that the claim holds no locks on other keys.
pub(super) async fn claim(
    pool: &PgPool,
    store: &str,
    key: &str,
    fingerprint: &str,
    now_ms: i64,
    expires_at: i64,
) -> Result<Replay> {
    sqlx::query("DELETE FROM store_idempotency WHERE expires_at <= $1")
        .bind(now_ms)
        .execute(pool)
        .await?;
    let mut tx = pool.begin().await?;
    let replay = loop {
        let inserted = sqlx::query(
            "INSERT INTO store_idempotency (store_id, key, fingerprint, expires_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (store_id, key) DO NOTHING",
        )
        .bind(store)
        .bind(key)
        .bind(fingerprint)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            break Replay::Claimed;
        }
        let found = sqlx::query(
            "SELECT fingerprint, status, body, expires_at FROM store_idempotency
             WHERE store_id = $1 AND key = $2 FOR UPDATE",
        )
        .bind(store)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        // Gone since the insert (released, or forgotten by another claim):
        // claim it again.
        let Some(row) = found else { continue };
        let stored_expiry: i64 = row.get("expires_at");
        if stored_expiry <= now_ms {
            // Expired by this request's clock (written by a node behind
            // it): forgotten, as SQLite's delete before the read would.
            sqlx::query("DELETE FROM store_idempotency WHERE store_id = $1 AND key = $2")
                .bind(store)
                .bind(key)
                .execute(&mut *tx)
                .await?;
            continue;
        }
        let stored: String = row.get("fingerprint");
        let status: Option<i64> = row.get("status");
        // Claims are made with `expires_at` a TTL after the claim.
        let claimed_at = stored_expiry - (expires_at - now_ms);
        break match status {
            _ if stored != fingerprint => Replay::Conflict,
            None if now_ms - claimed_at >= IDEMPOTENCY_RUNNING_MS => {
                sqlx::query(
                    "UPDATE store_idempotency SET expires_at = $1 WHERE store_id = $2 AND key = $3",
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
        };
    };
    tx.commit().await?;
    Ok(replay)
}

pub(super) async fn answer(
    pool: &PgPool,
    store: &str,
    key: &str,
    status: u16,
    body: &[u8],
) -> Result<()> {
    sqlx::query(
        "UPDATE store_idempotency SET status = $1, body = $2 WHERE store_id = $3 AND key = $4",
    )
    .bind(i64::from(status))
    .bind(body)
    .bind(store)
    .bind(key)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn release(pool: &PgPool, store: &str, key: &str) -> Result<()> {
    sqlx::query(
        "DELETE FROM store_idempotency WHERE store_id = $1 AND key = $2 AND status IS NULL",
    )
    .bind(store)
    .bind(key)
    .execute(pool)
    .await?;
    Ok(())
}
