//! Two-factor sign-in.

use async_trait::async_trait;
use cartroom_protocol::UserId;
use sqlx::Row;

use super::SqliteStore;
use crate::store::Result;
use crate::store::totp::{TotpRecord, TwoFactor};

#[async_trait]
impl TwoFactor for SqliteStore {
    async fn totp(&self, user: UserId) -> Result<Option<TotpRecord>> {
        let row = sqlx::query("SELECT secret, enabled FROM account_totp WHERE user_id = ?")
            .bind(user.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| TotpRecord {
            secret: row.get("secret"),
            enabled: row.get::<i64, _>("enabled") != 0,
        }))
    }

    async fn set_pending_totp(&self, user: UserId, secret: &str, now_ms: i64) -> Result<bool> {
        let res = sqlx::query(
            "INSERT INTO account_totp (user_id, secret, enabled, last_step, created_at)
             VALUES (?, ?, 0, NULL, ?)
             ON CONFLICT (user_id) DO UPDATE
             SET secret = excluded.secret, created_at = excluded.created_at
             WHERE account_totp.enabled = 0",
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
        let res = sqlx::query(
            "UPDATE account_totp SET enabled = 1, last_step = ?
             WHERE user_id = ? AND enabled = 0",
        )
        .bind(step)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        if res.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM totp_recovery_codes WHERE user_id = ?")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        for hash in recovery_hashes {
            sqlx::query("INSERT INTO totp_recovery_codes (user_id, code_hash) VALUES (?, ?)")
                .bind(&id)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool> {
        let res = sqlx::query(
            "UPDATE account_totp SET last_step = ?
             WHERE user_id = ? AND enabled = 1 AND (last_step IS NULL OR last_step < ?)",
        )
        .bind(step)
        .bind(user.to_string())
        .bind(step)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn use_recovery_code(&self, user: UserId, code_hash: &str, now_ms: i64) -> Result<bool> {
        let res = sqlx::query(
            "UPDATE totp_recovery_codes SET used_at = ?
             WHERE user_id = ? AND code_hash = ? AND used_at IS NULL
               AND EXISTS (SELECT 1 FROM account_totp t
                           WHERE t.user_id = totp_recovery_codes.user_id AND t.enabled = 1)",
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
        sqlx::query("DELETE FROM totp_recovery_codes WHERE user_id = ?")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM account_totp WHERE user_id = ?")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
