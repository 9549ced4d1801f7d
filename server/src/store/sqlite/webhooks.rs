//! Webhook endpoints, their sends and delivery log in SQLite.
//!
//! ## Layout
//! - this file: the `Webhooks` trait: endpoints, claims, outcomes;
//! - [`cart_events`]: the events of cart changes, written by the writer in
//!   the transaction that commits them;
//! - [`events`]: the events written inside the transaction of what caused
//!   them on the pool (orders', sharing's);
//! - [`hooked`]: which stores may have an enabled endpoint, asked by the
//!   writer before each batch;
//! - [`rows`]: endpoints read from their rows, and the statements the
//!   trait's methods share.

mod cart_events;
mod events;
mod hooked;
mod rows;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use cartroom_protocol::webhooks::{WebhookDelivery, WebhookEndpointView};
use sqlx::Row;
use tokio::sync::Notify;

pub(super) use self::cart_events::write_cart_events;
pub(super) use self::events::{order_created, order_status_changed, share_accepted};
pub(super) use self::hooked::HookedStores;
use self::rows::{
    ENDPOINT_COLUMNS, drop_sends, endpoint, endpoint_from_row, forget_done_events, log_outcome,
};
use super::SqliteStore;
use super::outbox::queue_mail;
use crate::store::Result;
pub(super) use crate::store::webhooks::{Accepted, StatusChange};
use crate::store::webhooks::{
    AfterFailure, AttemptOutcome, ClaimedDelivery, EndpointChange, NewEndpoint, Webhooks,
};
use crate::store::webhooks::{events_json, parse_kind};

#[async_trait]
impl Webhooks for SqliteStore {
    fn events_written(&self) -> Option<Arc<Notify>> {
        Some(self.wakes.webhook_events.clone())
    }

    async fn endpoints(&self, store_id: &str) -> Result<Vec<WebhookEndpointView>> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE store_id = ?
             ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(store_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(endpoint_from_row).collect()
    }

    async fn create_endpoint(&self, endpoint: &NewEndpoint, max: usize) -> Result<bool> {
        self.hooked.mark(&endpoint.store_id);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM webhook_endpoints WHERE store_id = ?")
                .bind(&endpoint.store_id)
                .fetch_one(&mut *tx)
                .await?;
        if count as usize >= max {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, store_id, url, events, secret, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&endpoint.id)
        .bind(&endpoint.store_id)
        .bind(&endpoint.url)
        .bind(events_json(&endpoint.events))
        .bind(&endpoint.secret)
        .bind(endpoint.now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn update_endpoint(
        &self,
        store_id: &str,
        id: &str,
        change: &EndpointChange,
    ) -> Result<Option<WebhookEndpointView>> {
        if change.enabled == Some(true) {
            self.hooked.mark(store_id);
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        if endpoint(&mut tx, store_id, id).await?.is_none() {
            return Ok(None);
        }
        sqlx::query(
            "UPDATE webhook_endpoints SET url = COALESCE(?, url), events = COALESCE(?, events)
             WHERE id = ?",
        )
        .bind(&change.url)
        .bind(change.events.as_deref().map(events_json))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        match change.enabled {
            Some(true) => {
                sqlx::query(
                    "UPDATE webhook_endpoints SET enabled = 1, disabled_reason = NULL,
                                                  failing_since = NULL
                     WHERE id = ? AND enabled = 0",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            Some(false) => {
                sqlx::query(
                    "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = NULL WHERE id = ?",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?;
                drop_sends(&mut tx, id).await?;
            }
            None => {}
        }
        let updated = endpoint(&mut tx, store_id, id).await?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn delete_endpoint(&self, store_id: &str, id: &str) -> Result<bool> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // Its sends and log go with it (ON DELETE CASCADE).
        let deleted = sqlx::query("DELETE FROM webhook_endpoints WHERE id = ? AND store_id = ?")
            .bind(id)
            .bind(store_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        forget_done_events(&mut tx).await?;
        tx.commit().await?;
        Ok(deleted == 1)
    }

    async fn deliveries(
        &self,
        store_id: &str,
        id: &str,
        limit: usize,
    ) -> Result<Option<Vec<WebhookDelivery>>> {
        let mut conn = self.pool.acquire().await?;
        if endpoint(&mut conn, store_id, id).await?.is_none() {
            return Ok(None);
        }
        let rows = sqlx::query(
            "SELECT id, event_id, type, attempt, status, error, at, duration_ms
             FROM webhook_attempts WHERE endpoint_id = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(id)
        .bind(limit as i64)
        .fetch_all(&mut *conn)
        .await?;
        let deliveries = rows
            .iter()
            .map(|r| {
                Ok(WebhookDelivery {
                    id: r.get("id"),
                    event_id: r.get("event_id"),
                    event: parse_kind(r.get("type"))?,
                    attempt: r.get::<i64, _>("attempt") as u32,
                    status: r.get::<Option<i64>, _>("status").map(|s| s as u16),
                    error: r.get("error"),
                    at: r.get("at"),
                    duration_ms: r.get("duration_ms"),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(deliveries))
    }

    async fn release_claims(&self) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE webhook_sends SET claimed = 0 WHERE claimed = 1")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE webhook_attempts SET error = 'interrupted: the server stopped'
             WHERE duration_ms IS NULL AND error IS NULL",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn claim_due(
        &self,
        now_ms: i64,
        limit: usize,
        per_endpoint: usize,
    ) -> Result<Vec<ClaimedDelivery>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // The oldest due sends, at most `per_endpoint` in flight for each
        // endpoint (counting those claimed already).
        let rows = sqlx::query(
            "SELECT * FROM (
               SELECT s.event_id, s.endpoint_id, s.attempts, s.next_attempt_at, e.type,
                      e.store_id, e.created_at, e.data, p.url, p.secret,
                      ROW_NUMBER() OVER (PARTITION BY s.endpoint_id ORDER BY s.next_attempt_at)
                        + (SELECT COUNT(*) FROM webhook_sends c
                           WHERE c.endpoint_id = s.endpoint_id AND c.claimed = 1) AS busy
               FROM webhook_sends s
               JOIN webhook_events e ON e.id = s.event_id
               JOIN webhook_endpoints p ON p.id = s.endpoint_id
               WHERE s.claimed = 0 AND s.next_attempt_at <= ? AND p.enabled = 1)
             WHERE busy <= ? ORDER BY next_attempt_at LIMIT ?",
        )
        .bind(now_ms)
        .bind(per_endpoint as i64)
        .bind(limit as i64)
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let event_id: String = row.get("event_id");
            let endpoint_id: String = row.get("endpoint_id");
            let kind = parse_kind(row.get("type"))?;
            let attempt = row.get::<i64, _>("attempts") + 1;
            sqlx::query(
                "UPDATE webhook_sends SET claimed = 1, attempts = ?
                 WHERE event_id = ? AND endpoint_id = ?",
            )
            .bind(attempt)
            .bind(&event_id)
            .bind(&endpoint_id)
            .execute(&mut *tx)
            .await?;
            // From the first claim on, no change merges into the body.
            sqlx::query("UPDATE webhook_events SET sealed = 1 WHERE id = ?")
                .bind(&event_id)
                .execute(&mut *tx)
                .await?;
            let log_id: i64 = sqlx::query_scalar(
                "INSERT INTO webhook_attempts (endpoint_id, event_id, type, attempt, at)
                 VALUES (?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(&endpoint_id)
            .bind(&event_id)
            .bind(kind.as_str())
            .bind(attempt)
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await?;
            claimed.push(ClaimedDelivery {
                event_id,
                kind,
                store_id: row.get("store_id"),
                created_at: row.get("created_at"),
                data: row.get("data"),
                endpoint_id,
                url: row.get("url"),
                secret: row.get("secret"),
                attempt: attempt as u32,
                log_id,
            });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    async fn next_due(&self) -> Result<Option<i64>> {
        // Nothing to read in a database without an enabled endpoint.
        if !self.hooked.any() {
            return Ok(None);
        }
        Ok(sqlx::query_scalar(
            "SELECT MIN(s.next_attempt_at) FROM webhook_sends s
             JOIN webhook_endpoints p ON p.id = s.endpoint_id
             WHERE s.claimed = 0 AND p.enabled = 1",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    async fn delivered(&self, claimed: &ClaimedDelivery, outcome: &AttemptOutcome) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        log_outcome(&mut tx, claimed, outcome).await?;
        sqlx::query("DELETE FROM webhook_sends WHERE event_id = ? AND endpoint_id = ?")
            .bind(&claimed.event_id)
            .bind(&claimed.endpoint_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM webhook_events WHERE id = ?1
             AND NOT EXISTS (SELECT 1 FROM webhook_sends WHERE event_id = ?1)",
        )
        .bind(&claimed.event_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ?")
            .bind(&claimed.endpoint_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn failed(
        &self,
        claimed: &ClaimedDelivery,
        outcome: &AttemptOutcome,
        next: &AfterFailure,
        now_ms: i64,
    ) -> Result<bool> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        log_outcome(&mut tx, claimed, outcome).await?;
        sqlx::query(
            "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ?) WHERE id = ?",
        )
        .bind(now_ms)
        .bind(&claimed.endpoint_id)
        .execute(&mut *tx)
        .await?;
        let mut mailed = false;
        match next {
            AfterFailure::RetryAt(at) => {
                sqlx::query(
                    "UPDATE webhook_sends SET claimed = 0, next_attempt_at = ?
                     WHERE event_id = ? AND endpoint_id = ?",
                )
                .bind(at)
                .bind(&claimed.event_id)
                .bind(&claimed.endpoint_id)
                .execute(&mut *tx)
                .await?;
            }
            AfterFailure::Disable { reason, mail } => {
                // Once, though several deliveries may give up together.
                let disabled = sqlx::query(
                    "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?
                     WHERE id = ? AND enabled = 1",
                )
                .bind(reason)
                .bind(&claimed.endpoint_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                drop_sends(&mut tx, &claimed.endpoint_id).await?;
                if disabled == 1 {
                    let owners: Vec<String> = sqlx::query_scalar(
                        "SELECT u.email FROM store_staff s JOIN users u ON u.id = s.user_id
                         WHERE s.store_id = ? AND s.role = 'owner' AND u.email IS NOT NULL",
                    )
                    .bind(&claimed.store_id)
                    .fetch_all(&mut *tx)
                    .await?;
                    for owner in owners {
                        let mut mail = mail.clone();
                        mail.recipient = owner;
                        queue_mail(&mut tx, &mail).await?;
                        mailed = true;
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(mailed)
    }
}
