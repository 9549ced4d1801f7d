//! Two-factor sign-in.
//!
//! Every rule that must hold against concurrent callers is one conditional
//! statement, as on SQLite, and so holds on Postgres under READ COMMITTED
//! too: an `UPDATE ... WHERE <condition>` that waits for another writer of
//! the row re-checks its condition on the row that writer left, so of two
//! sign-ins with the same step (or the same recovery code), or two
//! enrolments, exactly one changes the row.

use async_trait::async_trait;
use cartroom_protocol::UserId;
use sqlx::Row;

use super::PgStore;
use crate::store::Result;
use crate::store::totp::{TotpRecord, TwoFactor};

#[cfg(test)]
mod tests;

#[async_trait]
impl TwoFactor for PgStore {
    async fn totp(&self, user: UserId) -> Result<Option<TotpRecord>> {
        let row = sqlx::query("SELECT secret, enabled FROM account_totp WHERE user_id = $1")
            .bind(user.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| TotpRecord {
            secret: row.get("secret"),
            enabled: row.get::<bool, _>("enabled"),
        }))
    }

    async fn set_pending_totp(&self, user: UserId, secret: &str, now_ms: i64) -> Result<bool> {
        let res = sqlx::query(
            "INSERT INTO account_totp (user_id, secret, enabled, last_step, created_at)
             VALUES ($1, $2, FALSE, NULL, $3)
             ON CONFLICT (user_id) DO UPDATE
             SET secret = excluded.secret, created_at = excluded.created_at
             WHERE NOT account_totp.enabled",
        )
        .bind(user.to_string())
        .bind(secret)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn enable_totp(
        &self,
        user: UserId,
        step: i64,
        recovery_hashes: &[String],
    ) -> Result<bool> {
        let id = user.to_string();
        let mut tx = self.pool.begin().await?;
        // Locks the row: a second enabling waits, then finds it enabled.
        let res = sqlx::query(
            "UPDATE account_totp SET enabled = TRUE, last_step = $1
             WHERE user_id = $2 AND NOT enabled",
        )
        .bind(step)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        if res.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM totp_recovery_codes WHERE user_id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        // One statement for all the codes (SQLite inserted them one by
        // one); a code given twice fails on the primary key on both.
        sqlx::query(
            "INSERT INTO totp_recovery_codes (user_id, code_hash)
             SELECT $1, h FROM UNNEST($2::TEXT[]) AS h",
        )
        .bind(&id)
        .bind(recovery_hashes)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool> {
        let res = sqlx::query(
            "UPDATE account_totp SET last_step = $1
             WHERE user_id = $2 AND enabled AND (last_step IS NULL OR last_step < $1)",
        )
        .bind(step)
        .bind(user.to_string())
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn use_recovery_code(&self, user: UserId, code_hash: &str, now_ms: i64) -> Result<bool> {
        let res = sqlx::query(
            "UPDATE totp_recovery_codes SET used_at = $1
             WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL
               AND EXISTS (SELECT 1 FROM account_totp t
                           WHERE t.user_id = totp_recovery_codes.user_id AND t.enabled)",
        )
        .bind(now_ms)
        .bind(user.to_string())
        .bind(code_hash)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn disable_totp(&self, user: UserId) -> Result<()> {
        let id = user.to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM totp_recovery_codes WHERE user_id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM account_totp WHERE user_id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
