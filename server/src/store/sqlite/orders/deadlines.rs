//! Carts' deadlines, as the last change of each cart left them: the
//! writer keeps `carts.lock_deadline` in the transaction of that change,
//! and wakes the timer after a commit that set one.

use std::sync::Arc;

use async_trait::async_trait;
use cartroom_protocol::CartId;
use sqlx::Row;
use tokio::sync::Notify;

use crate::store::sqlite::{SqliteStore, parse_id};
use crate::store::{Deadlines, Result};

#[async_trait]
impl Deadlines for SqliteStore {
    async fn due_deadlines(&self, now_ms: i64) -> Result<Vec<(CartId, i64)>> {
        let rows = sqlx::query(
            "SELECT id, lock_deadline FROM carts
             WHERE lock_deadline IS NOT NULL AND lock_deadline <= ? ORDER BY lock_deadline",
        )
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((parse_id(r.get::<&str, _>("id"))?, r.get("lock_deadline"))))
            .collect()
    }

    async fn next_deadline(&self, after_ms: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(lock_deadline) FROM carts
             WHERE lock_deadline IS NOT NULL AND lock_deadline > ?",
        )
        .bind(after_ms)
        .fetch_one(&self.pool)
        .await?)
    }

    fn deadlines_written(&self) -> Option<Arc<Notify>> {
        Some(self.wakes.deadlines.clone())
    }
}
