//! Endpoints read from their rows, and the statements the `Webhooks`
//! methods share: dropping what waits for an endpoint, forgetting finished
//! events, completing an attempt in the bounded log.

use cartroom_protocol::webhooks::{MAX_DELIVERIES_KEPT, WebhookEndpointView};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::store::Result;
use crate::store::webhooks::{AttemptOutcome, ClaimedDelivery, parse_events};

pub(super) const ENDPOINT_COLUMNS: &str =
    "id, url, events, enabled, disabled_reason, created_at, failing_since";

pub(super) fn endpoint_from_row(row: &PgRow) -> Result<WebhookEndpointView> {
    Ok(WebhookEndpointView {
        id: row.get("id"),
        url: row.get("url"),
        events: parse_events(row.get("events"))?,
        enabled: row.get("enabled"),
        disabled_reason: row.get("disabled_reason"),
        created_at: row.get("created_at"),
        failing_since: row.get("failing_since"),
    })
}

pub(super) async fn endpoint(
    conn: &mut PgConnection,
    store_id: &str,
    id: &str,
) -> Result<Option<WebhookEndpointView>> {
    let sql =
        format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND store_id = $2");
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(store_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(endpoint_from_row).transpose()
}

/// Drops what waits for an endpoint (disabled), and events nobody waits for.
pub(super) async fn drop_sends(conn: &mut PgConnection, endpoint_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM webhook_sends WHERE endpoint_id = $1")
        .bind(endpoint_id)
        .execute(&mut *conn)
        .await?;
    forget_done_events(conn).await
}

/// Events are kept only while a send of theirs waits. Postgres: events
/// locked by another transaction (a merge, a claim sealing them) are
/// skipped rather than waited for, which could deadlock with it; they have
/// sends then, or are forgotten by the next call.
pub(super) async fn forget_done_events(conn: &mut PgConnection) -> Result<()> {
    sqlx::query(
        "DELETE FROM webhook_events WHERE id IN (
           SELECT e.id FROM webhook_events e
           WHERE NOT EXISTS (SELECT 1 FROM webhook_sends s WHERE s.event_id = e.id)
           FOR UPDATE SKIP LOCKED)",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records how an attempt went, and keeps the endpoint's log bounded.
pub(super) async fn log_outcome(
    conn: &mut PgConnection,
    claimed: &ClaimedDelivery,
    outcome: &AttemptOutcome,
) -> Result<()> {
    sqlx::query(
        "UPDATE webhook_attempts SET status = $1, error = $2, duration_ms = $3 WHERE id = $4",
    )
    .bind(outcome.status.map(i64::from))
    .bind(&outcome.error)
    .bind(outcome.duration_ms)
    .bind(claimed.log_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM webhook_attempts WHERE endpoint_id = $1 AND id <=
           (SELECT id FROM webhook_attempts WHERE endpoint_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
    )
    .bind(&claimed.endpoint_id)
    .bind(MAX_DELIVERIES_KEPT as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether the store has the endpoint, locked until the caller commits, so
/// that concurrent changes of one endpoint take turns.
pub(super) async fn lock_endpoint(
    conn: &mut PgConnection,
    store_id: &str,
    id: &str,
) -> Result<bool> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT id FROM webhook_endpoints WHERE id = $1 AND store_id = $2 FOR UPDATE",
    )
    .bind(id)
    .bind(store_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.is_some())
}
