//! Takeovers, help codes, and the facts about carts, stores and conversations the
//! support desk decides with.
//!
//! Where Postgres differs from SQLite (one writer at a time there, many
//! here, every node and every connection of its pool):
//! - One open takeover per cart is the unique partial index
//!   `takeovers_open`, as on SQLite. Two agents inserting at once: the
//!   second insert waits for the first to commit, then fails on the index,
//!   so it gets `false` (the service's `takeover_in_progress`), as it would
//!   behind SQLite's write lock.
//! - A status change is one `UPDATE ... WHERE status = ANY(from)`: under
//!   READ COMMITTED a concurrent update makes the second wait and re-check
//!   its `WHERE` on the row as committed, so compare and set holds.
//! - A help code is taken out by one `DELETE ... RETURNING`: of two agents
//!   reading out the same code at once, one gets it, the other nothing.
//! - Storing a cart's help code upserts on the cart (two members making a
//!   code at once: the later replaces the earlier, both succeed, as they
//!   would one after the other on SQLite), and forgets expired codes with
//!   `SKIP LOCKED` so that no two makers wait on each other's clean-up.
//! - Ties in orderings compare ids bytewise (`COLLATE "C"`), as SQLite does.

use async_trait::async_trait;
use cartroom_protocol::takeover::{Takeover, TakeoverGrant, TakeoverId, TakeoverStatus};
use cartroom_protocol::{CartId, UserId};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PgStore, parse_id};
use crate::store::takeover::{CartFacts, CustomerCart, HelpCode, Takeovers, Transition};
use crate::store::{Result, StoreError};

const TAKEOVER_COLUMNS: &str = "id, cart_id, store_id, agent_id, agent_name, shopper_id, status,
    grant_kind, requested_at, started_at, ended_at, ended_by";

fn takeover_of(row: &PgRow) -> Result<Takeover> {
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
impl Takeovers for PgStore {
    async fn cart_facts(&self, cart: CartId) -> Result<Option<CartFacts>> {
        let row = sqlx::query("SELECT store_id, created_by, name FROM carts WHERE id = $1")
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
            sqlx::query_scalar::<_, bool>("SELECT is_guest FROM users WHERE id = $1")
                .bind(user.to_string())
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn has_customer_in(&self, cart: CartId, store: &str) -> Result<bool> {
        // EXISTS rather than SQLite's `SELECT 1 ... LIMIT 1`: a bare 1 is
        // an INT4 here, and the answer is a yes or no anyway.
        Ok(sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM members m JOIN conversations c
               ON c.user_id = m.user_id AND c.store_id = $1
             WHERE m.cart_id = $2)",
        )
        .bind(store)
        .bind(cart.to_string())
        .fetch_one(&self.pool)
        .await?)
    }

    async fn customer_carts(
        &self,
        user: UserId,
        store: &str,
        limit: usize,
    ) -> Result<Vec<CustomerCart>> {
        let rows = sqlx::query(
            r#"SELECT c.id, c.name FROM carts c JOIN members m ON m.cart_id = c.id
             JOIN cart_figures f ON f.cart_id = c.id
             WHERE m.user_id = $1 AND c.store_id = $2
             ORDER BY f.updated_at DESC, c.id COLLATE "C" LIMIT $3"#,
        )
        .bind(user.to_string())
        .bind(store)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
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
        // `takeovers_open` decides between concurrent agents: the loser's
        // insert fails on it once the winner commits (see the module).
        let res = sqlx::query(
            "INSERT INTO takeovers (id, cart_id, store_id, agent_id, agent_name, shopper_id,
                status, grant_kind, requested_at, started_at, ended_at, ended_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
        let sql = format!("SELECT {TAKEOVER_COLUMNS} FROM takeovers WHERE id = $1");
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
             WHERE cart_id = $1 AND status IN ('requested', 'active')"
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
        // The states it may move from are one array parameter here, where
        // SQLite had a placeholder each. A concurrent change of the row
        // makes this wait, then re-check `status` on the committed row.
        let sql = format!(
            "UPDATE takeovers SET status = $1,
                started_at = CASE WHEN $1 = 'active' THEN $2 ELSE started_at END,
                ended_at = CASE WHEN $1 IN ('ended', 'declined') THEN $2 ELSE ended_at END,
                ended_by = CASE WHEN $1 IN ('ended', 'declined') THEN $3 ELSE ended_by END
             WHERE id = $4 AND status = ANY($5)
             RETURNING {TAKEOVER_COLUMNS}"
        );
        let from: Vec<&str> = change.from.iter().map(|s| s.as_str()).collect();
        sqlx::query(&sql)
            .bind(change.to.as_str())
            .bind(change.now_ms)
            .bind(change.by.map(|u| u.to_string()))
            .bind(change.id.to_string())
            .bind(from)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(takeover_of)
            .transpose()
    }

    async fn put_help_code(&self, code_hash: &str, code: &HelpCode, now_ms: i64) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        // Expired codes another maker is forgetting (or a taker taking) are
        // skipped rather than waited for: they are on their way out.
        sqlx::query(
            "DELETE FROM help_codes WHERE cart_id IN (
                SELECT cart_id FROM help_codes WHERE expires_at <= $1
                FOR UPDATE SKIP LOCKED)",
        )
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        // The cart's own code is replaced by the upsert below, which also
        // covers a code another member made for the cart meanwhile.
        let res = sqlx::query(
            "INSERT INTO help_codes (cart_id, code_hash, created_by, expires_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (cart_id) DO UPDATE SET code_hash = EXCLUDED.code_hash,
                created_by = EXCLUDED.created_by, expires_at = EXCLUDED.expires_at",
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
            // Only `code_hash` can clash now: another cart's live code.
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn take_help_code(&self, code_hash: &str) -> Result<Option<HelpCode>> {
        let row = sqlx::query(
            "DELETE FROM help_codes WHERE code_hash = $1
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

#[cfg(test)]
mod tests;
