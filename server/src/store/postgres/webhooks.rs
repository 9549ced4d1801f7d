//! Webhook endpoints, their sends and delivery log in Postgres.
//!
//! ## Layout
//! - this file: the `Webhooks` trait: endpoints, claims, outcomes;
//! - [`events`]: the events written inside the transaction of what caused
//!   them (the writer's, orders', sharing's);
//! - [`claims`]: claiming due deliveries with every node's worker on one
//!   database (leases and presence, instead of SQLite's flag cleared at
//!   start-up);
//! - [`rows`]: endpoints read from their rows, and the statements the
//!   trait's methods share.
//!
//! Where this differs from SQLite (one writer at a time), beside claims:
//! the endpoint count per store is checked under a lock per store, an
//! endpoint changed is locked first, and an event is forgotten by the last
//! of its sends under the event's lock (two deliveries finishing together
//! would each see the other's send otherwise, and keep the event).

mod claims;
mod events;
mod rows;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use cartroom_protocol::webhooks::{WebhookDelivery, WebhookEndpointView};
use sqlx::Row;

pub(super) use self::events::{
    order_created, order_status_changed, share_accepted, write_cart_events,
};
use self::rows::{
    ENDPOINT_COLUMNS, drop_sends, endpoint, endpoint_from_row, forget_done_events, lock_endpoint,
    log_outcome,
};
use super::PgStore;
use super::outbox::queue_mail;
use crate::store::Result;
pub(super) use crate::store::webhooks::{Accepted, StatusChange};
use crate::store::webhooks::{
    AfterFailure, AttemptOutcome, ClaimedDelivery, EndpointChange, NewEndpoint, Webhooks,
};
use crate::store::webhooks::{events_json, parse_kind};

#[async_trait]
impl Webhooks for PgStore {
    async fn endpoints(&self, store_id: &str) -> Result<Vec<WebhookEndpointView>> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE store_id = $1
             ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(store_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(endpoint_from_row).collect()
    }

    /// Postgres: the count and the insert happen under a transaction lock
    /// per store, so that two owners registering at once cannot pass `max`.
    async fn create_endpoint(&self, endpoint: &NewEndpoint, max: usize) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('cartroom.webhooks.store.' || $1))")
            .bind(&endpoint.store_id)
            .execute(&mut *tx)
            .await?;
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM webhook_endpoints WHERE store_id = $1")
                .bind(&endpoint.store_id)
                .fetch_one(&mut *tx)
                .await?;
        if count as usize >= max {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, store_id, url, events, secret, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
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
        let mut tx = self.pool.begin().await?;
        if !lock_endpoint(&mut tx, store_id, id).await? {
            return Ok(None);
        }
        sqlx::query(
            "UPDATE webhook_endpoints SET url = COALESCE($1, url), events = COALESCE($2, events)
             WHERE id = $3",
        )
        .bind(&change.url)
        .bind(change.events.as_deref().map(events_json))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        match change.enabled {
            Some(true) => {
                sqlx::query(
                    "UPDATE webhook_endpoints SET enabled = TRUE, disabled_reason = NULL,
                                                  failing_since = NULL
                     WHERE id = $1 AND NOT enabled",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            Some(false) => {
                sqlx::query(
                    "UPDATE webhook_endpoints SET enabled = FALSE, disabled_reason = NULL
                     WHERE id = $1",
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
        let mut tx = self.pool.begin().await?;
        // Its sends and log go with it (ON DELETE CASCADE).
        let deleted = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1 AND store_id = $2")
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
             FROM webhook_attempts WHERE endpoint_id = $1 ORDER BY id DESC LIMIT $2",
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

    /// Postgres: many nodes' workers share the outbox, so this releases
    /// only the claims no live node holds (see [`claims`]): those of a node
    /// that was killed or lost the database, its own predecessor's among
    /// them, are due again at once.
    async fn release_claims(&self) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        claims::release_dead(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Postgres: the claim is one statement under the claimers' lock, and
    /// lasts until its lease ends or its node leaves (see [`claims`]).
    async fn claim_due(
        &self,
        now_ms: i64,
        limit: usize,
        per_endpoint: usize,
    ) -> Result<Vec<ClaimedDelivery>> {
        let mut tx = self.pool.begin().await?;
        let claimed =
            claims::claim(&mut tx, self.presence.key, now_ms, limit, per_endpoint).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    /// Postgres: "unclaimed" is "no live claim", as for `claim_due`.
    async fn next_due(&self) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(&format!(
            "SELECT MIN(s.next_attempt_at) FROM webhook_sends s
             JOIN webhook_endpoints p ON p.id = s.endpoint_id
             WHERE NOT {} AND p.enabled",
            claims::live("s")
        ))
        .fetch_one(&self.pool)
        .await?)
    }

    /// Postgres: the send goes first, then the event is locked and goes if
    /// no send of it is left (the last of two deliveries finishing at once
    /// sees the other's send gone).
    async fn delivered(&self, claimed: &ClaimedDelivery, outcome: &AttemptOutcome) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        log_outcome(&mut tx, claimed, outcome).await?;
        sqlx::query("DELETE FROM webhook_sends WHERE event_id = $1 AND endpoint_id = $2")
            .bind(&claimed.event_id)
            .bind(&claimed.endpoint_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("SELECT id FROM webhook_events WHERE id = $1 FOR UPDATE")
            .bind(&claimed.event_id)
            .fetch_optional(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM webhook_events WHERE id = $1
             AND NOT EXISTS (SELECT 1 FROM webhook_sends WHERE event_id = $1)",
        )
        .bind(&claimed.event_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1")
            .bind(&claimed.endpoint_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Postgres: a retry frees the send only while this attempt's claim is
    /// the latest (`attempts` unchanged): had the claim lapsed and another
    /// node claimed it since, that node's claim stays.
    async fn failed(
        &self,
        claimed: &ClaimedDelivery,
        outcome: &AttemptOutcome,
        next: &AfterFailure,
        now_ms: i64,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        log_outcome(&mut tx, claimed, outcome).await?;
        sqlx::query(
            "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $1)
             WHERE id = $2",
        )
        .bind(now_ms)
        .bind(&claimed.endpoint_id)
        .execute(&mut *tx)
        .await?;
        let mut mailed = false;
        match next {
            AfterFailure::RetryAt(at) => {
                sqlx::query(
                    "UPDATE webhook_sends SET claimed_until = 0, claimed_by = NULL,
                                              next_attempt_at = $1
                     WHERE event_id = $2 AND endpoint_id = $3 AND attempts = $4",
                )
                .bind(at)
                .bind(&claimed.event_id)
                .bind(&claimed.endpoint_id)
                .bind(i64::from(claimed.attempt))
                .execute(&mut *tx)
                .await?;
            }
            AfterFailure::Disable { reason, mail } => {
                // Once, though several deliveries (of several nodes) may
                // give up together: the row lock makes them take turns.
                let disabled = sqlx::query(
                    "UPDATE webhook_endpoints SET enabled = FALSE, disabled_reason = $1
                     WHERE id = $2 AND enabled",
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
                         WHERE s.store_id = $1 AND s.role = 'owner' AND u.email IS NOT NULL
                         ORDER BY u.email",
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
