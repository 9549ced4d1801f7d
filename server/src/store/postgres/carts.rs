//! Cart rows: created with their admin and first base, listed (with the
//! figures of their latest change, `cart_figures`), deleted.
//!
//! As on SQLite. A new cart's row, its admin and its first base go in one
//! transaction; nothing is read before it writes, so it needs no lock (a
//! second cart with the same id fails on the key).

use async_trait::async_trait;
use cartroom_protocol::{CartId, MemberRole, UserId};
use sqlx::Row;

use super::{PgStore, parse_id, parse_role};
use crate::store::{CartListing, Carts, NewCart, Result};

#[async_trait]
impl Carts for PgStore {
    async fn create_cart(&self, cart: NewCart<'_>) -> Result<()> {
        let id = cart.id.to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO carts (id, store_id, name, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&id)
        .bind(cart.store_id)
        .bind(cart.name)
        .bind(cart.creator.to_string())
        .bind(cart.now_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO members (cart_id, user_id, role, added_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(cart.creator.to_string())
        .bind(MemberRole::Admin.as_str())
        .bind(cart.now_ms)
        .execute(&mut *tx)
        .await?;
        // The first base of epoch 0, as SQLite's `insert_first_base`.
        sqlx::query(
            "INSERT INTO epochs (cart_id, epoch, start_seq, base_seq, started_at, saved_at, bytes)
             VALUES ($1, 0, 0, 0, $2, $2, $3)",
        )
        .bind(&id)
        .bind(cart.now_ms)
        .bind(cart.snapshot)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn count_created_carts(&self, user: UserId) -> Result<usize> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM carts WHERE created_by = $1")
            .bind(user.to_string())
            .fetch_one(&self.pool)
            .await?;
        Ok(count as usize)
    }

    async fn list_carts(&self, user: UserId) -> Result<Vec<CartListing>> {
        let rows = sqlx::query(
            "SELECT c.id, c.store_id, c.name, m.role, f.subtotal, s.currency, f.line_count
             FROM members m JOIN carts c ON c.id = m.cart_id JOIN stores s ON s.id = c.store_id
             JOIN cart_figures f ON f.cart_id = c.id
             WHERE m.user_id = $1 ORDER BY f.updated_at DESC",
        )
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CartListing {
                    id: parse_id(r.get::<&str, _>("id"))?,
                    store_id: r.get("store_id"),
                    name: r.get("name"),
                    role: parse_role(r.get("role"))?,
                    subtotal: r.get("subtotal"),
                    currency: r.get("currency"),
                    line_count: r.get("line_count"),
                })
            })
            .collect()
    }

    async fn cart_store(&self, cart: CartId) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT store_id FROM carts WHERE id = $1")
                .bind(cart.to_string())
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn delete_cart(&self, cart: CartId) -> Result<()> {
        sqlx::query("DELETE FROM carts WHERE id = $1")
            .bind(cart.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
