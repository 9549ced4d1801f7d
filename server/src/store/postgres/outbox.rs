//! The outbox: e-mails queued in the transaction of what caused them, sent
//! by the mail worker, each attempt recorded.
//!
//! On SQLite one node's worker drains the outbox. Here every node runs a
//! worker on the same table, so [`Outbox::due_mail`] claims what it returns:
//! one statement sets `claimed_until` on due rows no other node holds
//! (`FOR UPDATE SKIP LOCKED`, and `claimed_until <= now`), so no two nodes
//! send one e-mail. The attempt's outcome (`mail_sent`, `mail_failed`,
//! `mail_cancelled`) releases the claim; a node that dies mid-batch leaves
//! it to expire after [`MAIL_CLAIM`], and then any node sends the e-mail.
//! Nothing releases claims at start-up, which could free a live node's.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::PgStore;
use crate::store::sharing::{
    DeliveryRecord, MailPurpose, NewMail, Outbox, OutboxMessage, parse_delivery_status,
};
use crate::store::{Result, StoreError};

/// How long a claim on due e-mails lasts: a dead node's e-mails wait at
/// most this long for another node.
pub(super) const MAIL_CLAIM: Duration = Duration::from_secs(10 * 60);
/// The most e-mails one call of `due_mail` claims, whatever its `limit`.
/// The worker sends a batch one e-mail after another; SMTP's timeout (10 s)
/// bounds each read and write of an exchange, not the exchange, so a batch
/// of 32 slow sends could outlast any claim short enough to matter. Eight
/// at a time leaves 75 s per e-mail within [`MAIL_CLAIM`], and also bounds
/// what waits for the claim to expire when the worker stops mid-batch (a
/// database error, a crash). The worker takes a short batch as "no more
/// for now", asks [`Outbox::next_mail_due`], finds the rest due and comes
/// straight back.
pub(super) const MAIL_CLAIM_BATCH: usize = 8;
const MAIL_CLAIM_MS: i64 = MAIL_CLAIM.as_millis() as i64;

/// Queues `mail` inside the caller's transaction.
pub(super) async fn queue_mail(conn: &mut PgConnection, mail: &NewMail) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox (purpose, ref_id, recipient, subject, body_text, body_html,
                             created_at, status, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', $7)",
    )
    .bind(mail.purpose.as_str())
    .bind(&mail.ref_id)
    .bind(&mail.recipient)
    .bind(&mail.subject)
    .bind(&mail.text)
    .bind(&mail.html)
    .bind(mail.now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Cancels the e-mails of (`purpose`, `ref_id`) not sent yet, inside the
/// caller's transaction. One a worker is sending meanwhile is cancelled
/// too; its worker then records how the attempt went, as on SQLite.
pub(super) async fn cancel_unsent(
    conn: &mut PgConnection,
    purpose: MailPurpose,
    ref_id: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE outbox SET status = 'cancelled', next_attempt_at = NULL
         WHERE purpose = $1 AND ref_id = $2 AND status IN ('queued', 'retrying')",
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
pub(super) fn delivery_from_row(row: &PgRow) -> Result<Option<DeliveryRecord>> {
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

fn message_from_row(row: &PgRow) -> Result<OutboxMessage> {
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

impl PgStore {
    /// Whether the e-mail still waits to be sent (not cancelled meanwhile).
    async fn mail_waiting(&self, id: i64) -> Result<bool> {
        let waiting: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM outbox WHERE id = $1 AND status IN ('queued', 'retrying')",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(waiting.is_some())
    }
}

#[async_trait]
impl Outbox for PgStore {
    /// Claims the due e-mails it returns (see the top of the file), at
    /// most [`MAIL_CLAIM_BATCH`] of them. Rows another node is claiming at
    /// this instant are skipped, not waited for; a row whose claim
    /// committed after this statement began is re-checked on its newest
    /// version and left out.
    async fn due_mail(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxMessage>> {
        let rows = sqlx::query(
            "WITH due AS (
                 SELECT id FROM outbox
                 WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= $1
                   AND claimed_until <= $1
                 ORDER BY next_attempt_at, id LIMIT $2
                 FOR UPDATE SKIP LOCKED
             )
             UPDATE outbox o SET claimed_until = $3
             FROM due WHERE o.id = due.id AND o.claimed_until <= $1
             RETURNING o.id, o.purpose, o.ref_id, o.recipient, o.subject, o.body_text,
                       o.body_html, o.attempts, o.next_attempt_at",
        )
        .bind(now_ms)
        .bind(limit.min(MAIL_CLAIM_BATCH) as i64)
        .bind(now_ms.saturating_add(MAIL_CLAIM_MS))
        .fetch_all(&self.pool)
        .await?;
        // RETURNING has no order: oldest first, as SQLite's ORDER BY.
        let mut due: Vec<(i64, OutboxMessage)> = rows
            .iter()
            .map(|r| Ok((r.get("next_attempt_at"), message_from_row(r)?)))
            .collect::<Result<_>>()?;
        due.sort_by_key(|(at, mail)| (*at, mail.id));
        Ok(due.into_iter().map(|(_, mail)| mail).collect())
    }

    /// When the next e-mail is due, counting an e-mail another node holds
    /// as due when its claim expires (else this node's worker would wake at
    /// once, again and again, for an e-mail it may not take).
    async fn next_mail_due(&self) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(GREATEST(next_attempt_at, claimed_until)) FROM outbox
             WHERE next_attempt_at IS NOT NULL",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    async fn mint_mail_token(
        &self,
        mail: &OutboxMessage,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<bool> {
        // The row the token goes on, and its update.
        let (lock, update) = match mail.purpose {
            MailPurpose::Invitation => (
                "SELECT 1 FROM invitations WHERE id = $1 FOR UPDATE",
                "UPDATE invitations SET token_hash = $1
                 WHERE id = $2 AND accepted_by IS NULL AND accepted_at IS NULL
                   AND declined_at IS NULL AND revoked_at IS NULL AND expires_at > $3",
            ),
            MailPurpose::PasswordReset => (
                "SELECT 1 FROM password_resets WHERE id = $1 FOR UPDATE",
                "UPDATE password_resets SET token_hash = $1
                 WHERE id = $2 AND used_at IS NULL AND expires_at > $3",
            ),
            MailPurpose::Offer => (
                "SELECT 1 FROM offers WHERE id = $1 FOR UPDATE",
                "UPDATE offers SET token_hash = $1
                 WHERE id = $2 AND accepted_at IS NULL AND expires_at > $3",
            ),
            // No token to store; the worker does not mint one.
            MailPurpose::StoreShare
            | MailPurpose::DeadlineReminder
            | MailPurpose::WebhookDisabled => {
                return self.mail_waiting(mail.id).await;
            }
        };
        let mut tx = self.pool.begin().await?;
        // SQLite's write lock made this one step; here two rows are locked,
        // in the order a resend or a revoke locks them (the invitation,
        // then its e-mails), so that neither waits on the other forever.
        sqlx::query(lock)
            .bind(&mail.ref_id)
            .execute(&mut *tx)
            .await?;
        // Still this e-mail's turn (not cancelled meanwhile by a resend or a
        // revoke)? Locked until the token is stored, so a cancel waits.
        let waiting: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM outbox WHERE id = $1 AND status IN ('queued', 'retrying')
             FOR UPDATE",
        )
        .bind(mail.id)
        .fetch_optional(&mut *tx)
        .await?;
        if waiting.is_none() {
            return Ok(false);
        }
        let updated = sqlx::query(update)
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
            "UPDATE outbox SET status = 'sent', sent_at = $1, attempts = attempts + 1,
                               next_attempt_at = NULL, last_error = NULL, claimed_until = 0
             WHERE id = $2",
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
        // Released: the retry is any node's to make.
        sqlx::query(
            "UPDATE outbox SET status = $1, attempts = attempts + 1, last_error = $2,
                               next_attempt_at = $3, claimed_until = 0
             WHERE id = $4",
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
        sqlx::query(
            "UPDATE outbox SET status = 'cancelled', next_attempt_at = NULL, claimed_until = 0
             WHERE id = $1",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Two nodes may queue the same e-mails at once (each node's deadline
    /// timer sees the same deadline), and no unique key can say "once"
    /// (a resent invitation repeats its purpose, `ref_id` and recipient).
    /// So these callers take one transaction-scoped advisory lock before
    /// they look: the second waits, and its look (a later statement, so a
    /// later snapshot under READ COMMITTED) finds the first's e-mails.
    async fn queue_mail_once(&self, mails: &[NewMail]) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('cartroom.outbox.once'))")
            .execute(&mut *tx)
            .await?;
        let mut queued = 0;
        for mail in mails {
            let known: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM outbox WHERE purpose = $1 AND ref_id = $2 AND recipient = $3
                 LIMIT 1",
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

#[cfg(test)]
mod tests;
