//! Takeovers, help codes, and the facts about carts, stores and conversations the
//! support desk decides with.

use async_trait::async_trait;
use cartroom_protocol::takeover::{Takeover, TakeoverGrant, TakeoverId, TakeoverStatus};
use cartroom_protocol::{CartId, UserId};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, parse_id};
use crate::store::takeover::{CartFacts, CustomerCart, HelpCode, Takeovers, Transition};
use crate::store::{Result, StoreError};

const TAKEOVER_COLUMNS: &str = "id, cart_id, store_id, agent_id, agent_name, shopper_id, status,
    grant_kind, requested_at, started_at, ended_at, ended_by";

fn takeover_of(row: &SqliteRow) -> Result<Takeover> {
    let status: &str = row.get("status");
    let grant: &str = row.get("grant_kind");
    Ok(Takeover {
        id: parse_id(row.get::<&str, _>("id"))?,
        cart_id: parse_id(row.get::<&str, _>("cart_id"))?,
        store_id: row.get("store_id"),
        agent_id: parse_id(row.get::<&str, _>("agent_id"))?,
        agent_name: row.get("agent_name"),
        shopper_id: parse_id(row.get::<&str, _>("shopper_id"))?,
        status: TakeoverStatus::parse(status)
            .ok_or_else(|| StoreError::Corrupt(format!("bad takeover status {status:?}")))?,
        grant: TakeoverGrant::parse(grant)
            .ok_or_else(|| StoreError::Corrupt(format!("bad takeover grant {grant:?}")))?,
        requested_at: row.get("requested_at"),
        started_at: row.get("started_at"),
        ended_at: row.get("ended_at"),
        ended_by: row
            .get::<Option<&str>, _>("ended_by")
            .map(parse_id)
            .transpose()?,
    })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

#[async_trait]
impl Takeovers for SqliteStore {
    async fn cart_facts(&self, cart: CartId) -> Result<Option<CartFacts>> {
        let row = sqlx::query("SELECT store_id, created_by, name FROM carts WHERE id = ?")
            .bind(cart.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(CartFacts {
                store_id: r.get("store_id"),
                created_by: parse_id(r.get::<&str, _>("created_by"))?,
                name: r.get("name"),
            })
        })
        .transpose()
    }

    async fn is_guest(&self, user: UserId) -> Result<Option<bool>> {
        Ok(
            sqlx::query_scalar::<_, bool>("SELECT is_guest FROM users WHERE id = ?")
                .bind(user.to_string())
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn has_customer_in(&self, cart: CartId, store: &str) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM members m JOIN conversations c
               ON c.user_id = m.user_id AND c.store_id = ?
             WHERE m.cart_id = ? LIMIT 1",
        )
        .bind(store)
        .bind(cart.to_string())
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    async fn customer_carts(
        &self,
        user: UserId,
        store: &str,
        limit: usize,
    ) -> Result<Vec<CustomerCart>> {
        let rows = sqlx::query(
            "SELECT c.id, c.name FROM carts c JOIN members m ON m.cart_id = c.id
             JOIN cart_figures f ON f.cart_id = c.id
             WHERE m.user_id = ? AND c.store_id = ?
             ORDER BY f.updated_at DESC, c.id LIMIT ?",
        )
        .bind(user.to_string())
        .bind(store)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CustomerCart {
                    cart_id: parse_id(r.get::<&str, _>("id"))?,
                    name: r.get("name"),
                })
            })
            .collect()
    }

    async fn insert_takeover(&self, t: &Takeover) -> Result<bool> {
        let res = sqlx::query(
            "INSERT INTO takeovers (id, cart_id, store_id, agent_id, agent_name, shopper_id,
                status, grant_kind, requested_at, started_at, ended_at, ended_by)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(t.id.to_string())
        .bind(t.cart_id.to_string())
        .bind(&t.store_id)
        .bind(t.agent_id.to_string())
        .bind(&t.agent_name)
        .bind(t.shopper_id.to_string())
        .bind(t.status.as_str())
        .bind(t.grant.as_str())
        .bind(t.requested_at)
        .bind(t.started_at)
        .bind(t.ended_at)
        .bind(t.ended_by.map(|u| u.to_string()))
        .execute(&self.pool)
        .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn takeover(&self, id: TakeoverId) -> Result<Option<Takeover>> {
        let sql = format!("SELECT {TAKEOVER_COLUMNS} FROM takeovers WHERE id = ?");
        sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(takeover_of)
            .transpose()
    }

    async fn open_takeover(&self, cart: CartId) -> Result<Option<Takeover>> {
        let sql = format!(
            "SELECT {TAKEOVER_COLUMNS} FROM takeovers
             WHERE cart_id = ? AND status IN ('requested', 'active')"
        );
        sqlx::query(&sql)
            .bind(cart.to_string())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(takeover_of)
            .transpose()
    }

    async fn transition(&self, change: Transition<'_>) -> Result<Option<Takeover>> {
        // At most four states: the placeholders are bounded.
        let from = vec!["?"; change.from.len()].join(", ");
        let sql = format!(
            "UPDATE takeovers SET status = ?,
                started_at = CASE WHEN ? = 'active' THEN ? ELSE started_at END,
                ended_at = CASE WHEN ? IN ('ended', 'declined') THEN ? ELSE ended_at END,
                ended_by = CASE WHEN ? IN ('ended', 'declined') THEN ? ELSE ended_by END
             WHERE id = ? AND status IN ({from})
             RETURNING {TAKEOVER_COLUMNS}"
        );
        let to = change.to.as_str();
        let mut query = sqlx::query(&sql)
            .bind(to)
            .bind(to)
            .bind(change.now_ms)
            .bind(to)
            .bind(change.now_ms)
            .bind(to)
            .bind(change.by.map(|u| u.to_string()))
            .bind(change.id.to_string());
        for status in change.from {
            query = query.bind(status.as_str());
        }
        query
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(takeover_of)
            .transpose()
    }

    async fn put_help_code(&self, code_hash: &str, code: &HelpCode, now_ms: i64) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM help_codes WHERE expires_at <= ? OR cart_id = ?")
            .bind(now_ms)
            .bind(code.cart_id.to_string())
            .execute(&mut *tx)
            .await?;
        let res = sqlx::query(
            "INSERT INTO help_codes (cart_id, code_hash, created_by, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(code.cart_id.to_string())
        .bind(code_hash)
        .bind(code.created_by.to_string())
        .bind(code.expires_at)
        .execute(&mut *tx)
        .await;
        match res {
            Ok(_) => {
                tx.commit().await?;
                Ok(true)
            }
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn take_help_code(&self, code_hash: &str) -> Result<Option<HelpCode>> {
        let row = sqlx::query(
            "DELETE FROM help_codes WHERE code_hash = ?
             RETURNING cart_id, created_by, expires_at",
        )
        .bind(code_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(HelpCode {
                cart_id: parse_id(r.get::<&str, _>("cart_id"))?,
                created_by: parse_id(r.get::<&str, _>("created_by"))?,
                expires_at: r.get("expires_at"),
            })
        })
        .transpose()
    }
}
