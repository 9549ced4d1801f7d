//! Carts' deadlines, as the last change of each cart left them: the
//! writer keeps `carts.lock_deadline` in the transaction of that change.

use async_trait::async_trait;
use cartroom_protocol::CartId;
use sqlx::Row;

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

    async fn next_deadline(&self) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(lock_deadline) FROM carts WHERE lock_deadline IS NOT NULL",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}
