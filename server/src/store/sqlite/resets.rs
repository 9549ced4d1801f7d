//! Password resets: asked for by e-mail (queued in the same transaction),
//! used once with the token of that e-mail.

use async_trait::async_trait;
use cartroom_protocol::http::User;

use super::SqliteStore;
use super::outbox::queue_mail;
use crate::store::sharing::{NewMail, NewReset, PasswordResets};
use crate::store::{Result, StoreError};

#[async_trait]
impl PasswordResets for SqliteStore {
    async fn create_reset(&self, reset: &NewReset, mail: &NewMail) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO password_resets (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(&reset.id)
        .bind(reset.user.to_string())
        .bind(reset.now_ms)
        .bind(reset.expires_at)
        .execute(&mut *tx)
        .await?;
        queue_mail(&mut tx, mail).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn use_reset(
        &self,
        token_hash: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<Option<User>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let user: Option<String> = sqlx::query_scalar(
            "UPDATE password_resets SET used_at = ?
             WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
             RETURNING user_id",
        )
        .bind(now_ms)
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user) = user else {
            return Ok(None);
        };
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ? AND is_guest = 0")
            .bind(password_hash)
            .bind(&user)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(&user)
            .execute(&mut *tx)
            .await?;
        // Other resets of the account asked for before die with this one.
        sqlx::query("UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL")
            .bind(now_ms)
            .bind(&user)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query("SELECT id, email, name, is_guest FROM users WHERE id = ?")
            .bind(&user)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        let Some(row) = row else {
            return Err(StoreError::Corrupt(format!(
                "reset of a missing user {user}"
            )));
        };
        super::accounts::user_from_row(&row).map(Some)
    }
}
