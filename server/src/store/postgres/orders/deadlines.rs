//! Carts' deadlines, as the last change of each cart left them: the
//! writer keeps `carts.lock_deadline` in the transaction of that change.
//! The same statements as SQLite's (ties ordered by id, for a stable order),
//! but each node's timer leaves alone the carts another live node holds:
//! that node's timer locks them, and this one would only be refused.

use async_trait::async_trait;
use cartroom_protocol::CartId;
use sqlx::Row;

use crate::store::postgres::{PgStore, parse_id};
use crate::store::{Deadlines, Result};

#[async_trait]
impl Deadlines for PgStore {
    async fn due_deadlines(&self, now_ms: i64) -> Result<Vec<(CartId, i64)>> {
        let rows = sqlx::query(
            "SELECT id, lock_deadline FROM carts
             WHERE lock_deadline IS NOT NULL AND lock_deadline <= $1 AND NOT EXISTS (
               SELECT 1 FROM cart_leases l
               WHERE l.cart_id = carts.id AND l.node <> $2 AND l.expires_at > now())
             ORDER BY lock_deadline, id COLLATE \"C\"",
        )
        .bind(now_ms)
        .bind(&self.node)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((parse_id(r.get::<&str, _>("id"))?, r.get("lock_deadline"))))
            .collect()
    }

    async fn next_deadline(&self, after_ms: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(lock_deadline) FROM carts
             WHERE lock_deadline IS NOT NULL AND lock_deadline > $2 AND NOT EXISTS (
               SELECT 1 FROM cart_leases l
               WHERE l.cart_id = carts.id AND l.node <> $1 AND l.expires_at > now())",
        )
        .bind(&self.node)
        .bind(after_ms)
        .fetch_one(&self.pool)
        .await?)
    }
}
