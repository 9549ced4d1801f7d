//! The outbox: e-mails queued in the transaction of what caused them, sent
//! by the mail worker, each attempt recorded.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::SqliteStore;
use crate::store::sharing::{
    DeliveryRecord, MailPurpose, NewMail, Outbox, OutboxMessage, parse_delivery_status,
};
use crate::store::{Result, StoreError};

/// Queues `mail` inside the caller's transaction.
pub(super) async fn queue_mail(conn: &mut SqliteConnection, mail: &NewMail) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox (purpose, ref_id, recipient, subject, body_text, body_html,
                             created_at, status, next_attempt_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?)",
    )
    .bind(mail.purpose.as_str())
    .bind(&mail.ref_id)
    .bind(&mail.recipient)
    .bind(&mail.subject)
    .bind(&mail.text)
    .bind(&mail.html)
    .bind(mail.now_ms)
    .bind(mail.now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Cancels the e-mails of (`purpose`, `ref_id`) not sent yet, inside the
/// caller's transaction.
pub(super) async fn cancel_unsent(
    conn: &mut SqliteConnection,
    purpose: MailPurpose,
    ref_id: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE outbox SET status = 'cancelled', next_attempt_at = NULL
         WHERE purpose = ? AND ref_id = ? AND status IN ('queued', 'retrying')",
    )
    .bind(purpose.as_str())
    .bind(ref_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The latest e-mail of a row selected with its outbox columns aliased
/// `d_status`, `d_attempts`, `d_error`, `d_next`, `d_sent` (`None`: no
/// e-mail).
pub(super) fn delivery_from_row(row: &SqliteRow) -> Result<Option<DeliveryRecord>> {
    let status: Option<String> = row.get("d_status");
    Ok(match status {
        Some(status) => Some(DeliveryRecord {
            status: parse_delivery_status(&status)?,
            attempts: row.get::<i64, _>("d_attempts") as u32,
            last_error: row.get("d_error"),
            next_attempt_at: row.get("d_next"),
            sent_at: row.get("d_sent"),
        }),
        None => None,
    })
}

fn message_from_row(row: &SqliteRow) -> Result<OutboxMessage> {
    let purpose: &str = row.get("purpose");
    Ok(OutboxMessage {
        id: row.get("id"),
        purpose: MailPurpose::parse(purpose)
            .ok_or_else(|| StoreError::Corrupt(format!("bad mail purpose {purpose:?}")))?,
        ref_id: row.get("ref_id"),
        recipient: row.get("recipient"),
        subject: row.get("subject"),
        text: row.get("body_text"),
        html: row.get("body_html"),
        attempts: row.get::<i64, _>("attempts") as u32,
    })
}

#[async_trait]
impl Outbox for SqliteStore {
    async fn due_mail(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxMessage>> {
        let rows = sqlx::query(
            "SELECT id, purpose, ref_id, recipient, subject, body_text, body_html, attempts
             FROM outbox WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ?
             ORDER BY next_attempt_at, id LIMIT ?",
        )
        .bind(now_ms)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(message_from_row).collect()
    }

    async fn next_mail_due(&self) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM outbox")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn mint_mail_token(
        &self,
        mail: &OutboxMessage,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<bool> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // Still this e-mail's turn (not cancelled meanwhile by a resend or a revoke)?
        let waiting: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM outbox WHERE id = ? AND status IN ('queued', 'retrying')",
        )
        .bind(mail.id)
        .fetch_optional(&mut *tx)
        .await?;
        if waiting.is_none() {
            return Ok(false);
        }
        let sql = match mail.purpose {
            MailPurpose::Invitation => {
                "UPDATE invitations SET token_hash = ?
                 WHERE id = ? AND accepted_by IS NULL AND accepted_at IS NULL
                   AND declined_at IS NULL AND revoked_at IS NULL AND expires_at > ?"
            }
            MailPurpose::PasswordReset => {
                "UPDATE password_resets SET token_hash = ?
                 WHERE id = ? AND used_at IS NULL AND expires_at > ?"
            }
            // No token to store; the worker does not mint one.
            MailPurpose::StoreShare
            | MailPurpose::DeadlineReminder
            | MailPurpose::WebhookDisabled => return Ok(true),
            MailPurpose::Offer => {
                "UPDATE offers SET token_hash = ?
                 WHERE id = ? AND accepted_at IS NULL AND expires_at > ?"
            }
        };
        let updated = sqlx::query(sql)
            .bind(token_hash)
            .bind(&mail.ref_id)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(updated == 1)
    }

    async fn mail_sent(&self, id: i64, now_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1,
                               next_attempt_at = NULL, last_error = NULL
             WHERE id = ?",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mail_failed(&self, id: i64, error: &str, retry_at: Option<i64>) -> Result<()> {
        let status = if retry_at.is_some() {
            "retrying"
        } else {
            "failed"
        };
        sqlx::query(
            "UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?,
                               next_attempt_at = ?
             WHERE id = ?",
        )
        .bind(status)
        .bind(error)
        .bind(retry_at)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mail_cancelled(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE outbox SET status = 'cancelled', next_attempt_at = NULL WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn queue_mail_once(&self, mails: &[NewMail]) -> Result<usize> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut queued = 0;
        for mail in mails {
            let known: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM outbox WHERE purpose = ? AND ref_id = ? AND recipient = ? LIMIT 1",
            )
            .bind(mail.purpose.as_str())
            .bind(&mail.ref_id)
            .bind(&mail.recipient)
            .fetch_optional(&mut *tx)
            .await?;
            if known.is_none() {
                queue_mail(&mut tx, mail).await?;
                queued += 1;
            }
        }
        tx.commit().await?;
        Ok(queued)
    }
}
