//! Endpoints read from their rows, and the statements the `Webhooks`
//! methods share: dropping what waits for an endpoint, forgetting finished
//! events, completing an attempt in the bounded log.

use cartroom_protocol::webhooks::{MAX_DELIVERIES_KEPT, WebhookEndpointView};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use crate::store::Result;
use crate::store::webhooks::{AttemptOutcome, ClaimedDelivery, parse_events};

pub(super) const ENDPOINT_COLUMNS: &str =
    "id, url, events, enabled, disabled_reason, created_at, failing_since";

pub(super) fn endpoint_from_row(row: &SqliteRow) -> Result<WebhookEndpointView> {
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
    conn: &mut SqliteConnection,
    store_id: &str,
    id: &str,
) -> Result<Option<WebhookEndpointView>> {
    let sql =
        format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ? AND store_id = ?");
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(store_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(endpoint_from_row).transpose()
}

/// Drops what waits for an endpoint (disabled), and events nobody waits for.
pub(super) async fn drop_sends(conn: &mut SqliteConnection, endpoint_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM webhook_sends WHERE endpoint_id = ?")
        .bind(endpoint_id)
        .execute(&mut *conn)
        .await?;
    forget_done_events(conn).await
}

/// Events are kept only while a send of theirs waits.
pub(super) async fn forget_done_events(conn: &mut SqliteConnection) -> Result<()> {
    sqlx::query(
        "DELETE FROM webhook_events
         WHERE NOT EXISTS (SELECT 1 FROM webhook_sends s WHERE s.event_id = webhook_events.id)",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records how an attempt went, and keeps the endpoint's log bounded.
pub(super) async fn log_outcome(
    conn: &mut SqliteConnection,
    claimed: &ClaimedDelivery,
    outcome: &AttemptOutcome,
) -> Result<()> {
    sqlx::query("UPDATE webhook_attempts SET status = ?, error = ?, duration_ms = ? WHERE id = ?")
        .bind(outcome.status.map(i64::from))
        .bind(&outcome.error)
        .bind(outcome.duration_ms)
        .bind(claimed.log_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "DELETE FROM webhook_attempts WHERE endpoint_id = ?1 AND id <=
           (SELECT id FROM webhook_attempts WHERE endpoint_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
    )
    .bind(&claimed.endpoint_id)
    .bind(MAX_DELIVERIES_KEPT as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
