//! Claims on due deliveries, with every node's worker on one database.
//!
//! SQLite marks a send `claimed` and clears every mark when the (only)
//! worker starts. Here each node runs a worker, so a claim says who holds
//! it and until when (`webhook_sends.claimed_by`, `claimed_until`), and it
//! is *live* while both hold:
//! - its lease runs: `claimed_until` is later than the database's clock
//!   (`now_ms()`, so that no node's clock decides), [`CLAIM_LEASE_MS`]
//!   after the claim: longer than any attempt (the send's 10 s timeout,
//!   then recording it), so a live node's claim does not lapse mid-send;
//! - its node is present (`postgres::presence`): the store that claimed
//!   holds its presence lock. A node killed, or cut off from the database,
//!   loses it as soon as Postgres ends its session.
//!
//! Every claim is one `UPDATE` of sends holding no live claim, made under a
//! transaction advisory lock that the claimers of all nodes take in turn,
//! so no two claimers win one send and the bound per endpoint counts every
//! node's deliveries in flight. A node's start-up (`release_claims`) frees
//! only claims that are not live: those its killed predecessor left are due
//! again at once, and another live node's are left alone.

use sqlx::{PgConnection, Row};

use crate::store::Result;
use crate::store::postgres::presence::PRESENCE_CLASS;
use crate::store::webhooks::ClaimedDelivery;
use crate::store::webhooks::parse_kind;

/// How long a claim lasts, at most (see the module's doc).
pub(super) const CLAIM_LEASE_MS: i64 = 60_000;

/// The transaction lock claimers take in turn.
pub(super) const CLAIM_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtext('cartroom.webhooks.claim'))";

/// A condition: the send `alias` has a live claim (its lease runs, and
/// its node's presence lock is held in this database).
pub(super) fn live(alias: &str) -> String {
    format!(
        "({alias}.claimed_until > (SELECT now_ms()) AND {alias}.claimed_by IN
           (SELECT l.objid::bigint FROM pg_locks l
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
              AND l.classid = {PRESENCE_CLASS}::oid
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())))"
    )
}

/// Claims up to `limit` sends due at `now_ms` for the node `key`, at most
/// `per_endpoint` live claims to each endpoint, oldest due first; seals
/// their events and logs an attempt for each (see `Webhooks::claim_due`).
pub(super) async fn claim(
    conn: &mut PgConnection,
    key: i64,
    now_ms: i64,
    limit: usize,
    per_endpoint: usize,
) -> Result<Vec<ClaimedDelivery>> {
    sqlx::query(CLAIM_LOCK).execute(&mut *conn).await?;
    // The oldest due sends, at most `per_endpoint` in flight for each
    // endpoint (counting those claimed already, by any node), claimed in
    // this one statement. The lock above makes the count exact; the
    // `NOT live` of the UPDATE itself, checked again on a row another
    // claimer changed meanwhile, would keep a send from being claimed
    // twice even without it.
    let sql = format!(
        "WITH due AS (
           SELECT s.event_id, s.endpoint_id, s.next_attempt_at,
                  ROW_NUMBER() OVER (PARTITION BY s.endpoint_id ORDER BY s.next_attempt_at)
                    + (SELECT COUNT(*) FROM webhook_sends c
                       WHERE c.endpoint_id = s.endpoint_id AND {live_c}) AS busy
           FROM webhook_sends s
           JOIN webhook_endpoints p ON p.id = s.endpoint_id
           WHERE NOT {live_s} AND s.next_attempt_at <= $1 AND p.enabled),
         picked AS (
           SELECT event_id, endpoint_id FROM due WHERE busy <= $2
           ORDER BY next_attempt_at LIMIT $3)
         UPDATE webhook_sends s
         SET claimed_until = (SELECT now_ms()) + $4, claimed_by = $5, attempts = s.attempts + 1
         FROM picked
         WHERE s.event_id = picked.event_id AND s.endpoint_id = picked.endpoint_id
           AND NOT {live_s}
         RETURNING s.event_id, s.endpoint_id, s.attempts, s.next_attempt_at",
        live_c = live("c"),
        live_s = live("s"),
    );
    let mut sends: Vec<(String, String, i64, i64)> = sqlx::query_as(&sql)
        .bind(now_ms)
        .bind(per_endpoint as i64)
        .bind(limit as i64)
        .bind(CLAIM_LEASE_MS)
        .bind(key)
        .fetch_all(&mut *conn)
        .await?;
    sends.sort_by(|a, b| (a.3, &a.0, &a.1).cmp(&(b.3, &b.0, &b.1)));
    let mut claimed = Vec::with_capacity(sends.len());
    for (event_id, endpoint_id, attempt, _) in sends {
        // From the first claim on, no change merges into the body. A merge
        // in flight holds the event: this waits for it, then reads the
        // merged body.
        let event = sqlx::query(
            "UPDATE webhook_events SET sealed = TRUE WHERE id = $1
             RETURNING type, store_id, created_at, data",
        )
        .bind(&event_id)
        .fetch_one(&mut *conn)
        .await?;
        let target = sqlx::query("SELECT url, secret FROM webhook_endpoints WHERE id = $1")
            .bind(&endpoint_id)
            .fetch_one(&mut *conn)
            .await?;
        let kind = parse_kind(event.get("type"))?;
        // An attempt still open on this send was cut with its claim (the
        // node stopped or lost the database): no claim holds it now.
        sqlx::query(
            "UPDATE webhook_attempts SET error = $3
             WHERE endpoint_id = $1 AND event_id = $2 AND duration_ms IS NULL AND error IS NULL",
        )
        .bind(&endpoint_id)
        .bind(&event_id)
        .bind(INTERRUPTED)
        .execute(&mut *conn)
        .await?;
        let log_id: i64 = sqlx::query_scalar(
            "INSERT INTO webhook_attempts (endpoint_id, event_id, type, attempt, at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&endpoint_id)
        .bind(&event_id)
        .bind(kind.as_str())
        .bind(attempt)
        .bind(now_ms)
        .fetch_one(&mut *conn)
        .await?;
        claimed.push(ClaimedDelivery {
            event_id,
            kind,
            store_id: event.get("store_id"),
            created_at: event.get("created_at"),
            data: event.get("data"),
            endpoint_id,
            url: target.get("url"),
            secret: target.get("secret"),
            attempt: attempt as u32,
            log_id,
        });
    }
    Ok(claimed)
}

/// What the log says of an attempt cut by a stop or a crash.
pub(super) const INTERRUPTED: &str = "interrupted: the server stopped";

/// At a node's start: attempts that no live claim holds any more are
/// marked interrupted, and claims that are not live are freed (only those:
/// other nodes' deliveries in flight go on).
pub(super) async fn release_dead(conn: &mut PgConnection) -> Result<()> {
    sqlx::query(CLAIM_LOCK).execute(&mut *conn).await?;
    sqlx::query(&format!(
        "UPDATE webhook_attempts a SET error = $1
         WHERE a.duration_ms IS NULL AND a.error IS NULL
           AND NOT EXISTS (SELECT 1 FROM webhook_sends s
                           WHERE s.event_id = a.event_id AND s.endpoint_id = a.endpoint_id
                             AND {})",
        live("s")
    ))
    .bind(INTERRUPTED)
    .execute(&mut *conn)
    .await?;
    sqlx::query(&format!(
        "UPDATE webhook_sends s SET claimed_until = 0, claimed_by = NULL
         WHERE s.claimed_until > 0 AND NOT {}",
        live("s")
    ))
    .execute(&mut *conn)
    .await?;
    Ok(())
}
