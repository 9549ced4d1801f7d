//! Password resets: asked for by e-mail (queued in the same transaction),
//! used once with the token of that e-mail.
//!
//! Using a reset first locks its user's row (`FOR NO KEY UPDATE`): SQLite
//! ran one writer at a time, and here two resets of one user used at once
//! (two e-mails, two tabs) would otherwise each mark its own reset used and
//! then wait on the other's to mark it too, a deadlock. With the user's row
//! taken first they run one after the other, and the second finds its
//! reset used, as on SQLite.

use async_trait::async_trait;
use cartroom_protocol::http::User;

use super::PgStore;
use super::outbox::queue_mail;
use crate::store::sharing::{NewMail, NewReset, PasswordResets};
use crate::store::{Result, StoreError};

#[async_trait]
impl PasswordResets for PgStore {
    async fn create_reset(&self, reset: &NewReset, mail: &NewMail) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO password_resets (id, user_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4)",
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
        let mut tx = self.pool.begin().await?;
        // The user's row first (see the top of the file).
        let locked: Option<String> = sqlx::query_scalar(
            "SELECT u.id FROM password_resets r JOIN users u ON u.id = r.user_id
             WHERE r.token_hash = $1
             FOR NO KEY UPDATE OF u",
        )
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        if locked.is_none() {
            return Ok(None);
        }
        let user: Option<String> = sqlx::query_scalar(
            "UPDATE password_resets SET used_at = $1
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
             RETURNING user_id",
        )
        .bind(now_ms)
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user) = user else {
            return Ok(None);
        };
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND NOT is_guest")
            .bind(password_hash)
            .bind(&user)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(&user)
            .execute(&mut *tx)
            .await?;
        // Other resets of the account asked for before die with this one.
        sqlx::query(
            "UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL",
        )
        .bind(now_ms)
        .bind(&user)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query("SELECT id, email, name, is_guest FROM users WHERE id = $1")
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
