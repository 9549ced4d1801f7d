//! Carts shared with the store, and the setting that allows it.
//!
//! On Postgres as on SQLite each write is one transaction; opening a share
//! joins the cart through [`join`], which locks the cart's row for the
//! member limit (SQLite's `BEGIN IMMEDIATE` did that).

#[cfg(test)]
mod tests;

use async_trait::async_trait;
use cartroom_protocol::store::{StoreSettings, StoreShareId, TakeoverConsent};
use cartroom_protocol::{CartId, MemberRole, UserId};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::join::join;
use super::outbox::queue_mail;
use super::{PgStore, parse_id};
use crate::store::sharing::{JoinError, NewMail};
use crate::store::store_shares::{NewStoreShare, StoreShareRecord, StoreShares};
use crate::store::{Result, StoreError};

const SHARE: &str = "
    SELECT s.id, s.cart_id, c.name AS cart_name, f.line_count, f.subtotal, s.name, s.email,
           s.message, s.created_at
    FROM store_shares s JOIN carts c ON c.id = s.cart_id JOIN cart_figures f ON f.cart_id = c.id";

fn share_from_row(row: &PgRow) -> Result<StoreShareRecord> {
    Ok(StoreShareRecord {
        id: parse_id(row.get::<&str, _>("id"))?,
        cart: parse_id(row.get::<&str, _>("cart_id"))?,
        cart_name: row.get("cart_name"),
        line_count: row.get("line_count"),
        subtotal: row.get("subtotal"),
        name: row.get("name"),
        email: row.get("email"),
        message: row.get("message"),
        created_at: row.get("created_at"),
    })
}

#[async_trait]
impl StoreShares for PgStore {
    async fn settings(&self, store: &str) -> Result<StoreSettings> {
        let row = sqlx::query(
            "SELECT COALESCE(h.customer_shares, FALSE) AS customer_shares, s.takeover_consent
             FROM stores s LEFT JOIN store_sharing h ON h.store_id = s.id WHERE s.id = $1",
        )
        .bind(store)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(StoreSettings {
                customer_shares: false,
                takeover_consent: TakeoverConsent::Required,
            });
        };
        let consent: &str = row.get("takeover_consent");
        Ok(StoreSettings {
            customer_shares: row.get::<bool, _>("customer_shares"),
            takeover_consent: TakeoverConsent::parse(consent)
                .ok_or_else(|| StoreError::Corrupt(format!("bad takeover consent {consent:?}")))?,
        })
    }

    async fn set_settings(&self, store: &str, settings: &StoreSettings) -> Result<()> {
        // Two writes of one setting each, so no lock is needed: of two
        // saves at once the later one's values stay (as on SQLite).
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO store_sharing (store_id, customer_shares) VALUES ($1, $2)
             ON CONFLICT (store_id) DO UPDATE SET customer_shares = excluded.customer_shares",
        )
        .bind(store)
        .bind(settings.customer_shares)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE stores SET takeover_consent = $1 WHERE id = $2")
            .bind(settings.takeover_consent.as_str())
            .bind(store)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_store_share(&self, share: &NewStoreShare, mails: &[NewMail]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO store_shares (id, store_id, cart_id, shared_by, name, email, message,
                                       created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(share.id.to_string())
        .bind(&share.store)
        .bind(share.cart.to_string())
        .bind(share.shared_by.to_string())
        .bind(&share.name)
        .bind(&share.email)
        .bind(&share.message)
        .bind(share.now_ms)
        .execute(&mut *tx)
        .await?;
        for mail in mails {
            queue_mail(&mut tx, mail).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn store_shares(&self, store: &str) -> Result<Vec<StoreShareRecord>> {
        let rows = sqlx::query(&format!(
            "{SHARE} WHERE s.store_id = $1 ORDER BY s.created_at DESC, s.id DESC"
        ))
        .bind(store)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(share_from_row).collect()
    }

    async fn open_store_share(
        &self,
        store: &str,
        id: StoreShareId,
        user: UserId,
        now_ms: i64,
        max_members: usize,
    ) -> Result<(CartId, Option<MemberRole>, MemberRole), JoinError> {
        let mut tx = self.pool.begin().await?;
        let cart: Option<String> =
            sqlx::query_scalar("SELECT cart_id FROM store_shares WHERE store_id = $1 AND id = $2")
                .bind(store)
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        let cart = cart.ok_or(JoinError::NotFound)?;
        let (previous, role) = join(
            &mut tx,
            &cart,
            &user.to_string(),
            MemberRole::Editor,
            now_ms,
            max_members,
        )
        .await?;
        tx.commit().await?;
        Ok((parse_id(&cart)?, previous, role))
    }
}
