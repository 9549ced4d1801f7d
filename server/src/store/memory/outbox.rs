//! The outbox of e-mails in memory: queued with what causes them, drained
//! by the mail worker. Each purpose mints its own token (`mint_*_token` of
//! invitations, resets and offers).

use async_trait::async_trait;
use cartroom_protocol::sharing::DeliveryStatus;

use super::{MemoryStore, State};
use crate::store::Result;
use crate::store::sharing::{DeliveryRecord, MailPurpose, NewMail, Outbox, OutboxMessage};

pub(super) struct MailRow {
    id: i64,
    mail: NewMail,
    status: DeliveryStatus,
    attempts: u32,
    last_error: Option<String>,
    next_attempt_at: Option<i64>,
    sent_at: Option<i64>,
}

impl State {
    pub(super) fn queue_mail(&mut self, mail: &NewMail) {
        let id = self.outbox.len() as i64 + 1;
        self.outbox.push(MailRow {
            id,
            mail: mail.clone(),
            status: DeliveryStatus::Queued,
            attempts: 0,
            last_error: None,
            next_attempt_at: Some(mail.now_ms),
            sent_at: None,
        });
    }

    pub(super) fn cancel_unsent(&mut self, purpose: MailPurpose, ref_id: &str) {
        for m in &mut self.outbox {
            let unsent = matches!(m.status, DeliveryStatus::Queued | DeliveryStatus::Retrying);
            if unsent && m.mail.purpose == purpose && m.mail.ref_id == ref_id {
                m.status = DeliveryStatus::Cancelled;
                m.next_attempt_at = None;
            }
        }
    }

    pub(super) fn mail_mut(&mut self, id: i64) -> Option<&mut MailRow> {
        self.outbox.iter_mut().find(|m| m.id == id)
    }

    /// The latest e-mail of (`purpose`, `ref_id`).
    pub(super) fn latest_delivery(
        &self,
        purpose: MailPurpose,
        ref_id: &str,
    ) -> Option<DeliveryRecord> {
        self.outbox
            .iter()
            .rev()
            .find(|m| m.mail.purpose == purpose && m.mail.ref_id == ref_id)
            .map(|m| DeliveryRecord {
                status: m.status,
                attempts: m.attempts,
                last_error: m.last_error.clone(),
                next_attempt_at: m.next_attempt_at,
                sent_at: m.sent_at,
            })
    }
}

#[async_trait]
impl Outbox for MemoryStore {
    async fn due_mail(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxMessage>> {
        let state = self.state();
        let mut due: Vec<&MailRow> = state
            .outbox
            .iter()
            .filter(|m| m.next_attempt_at.is_some_and(|at| at <= now_ms))
            .collect();
        due.sort_by_key(|m| (m.next_attempt_at, m.id));
        Ok(due
            .into_iter()
            .take(limit)
            .map(|m| OutboxMessage {
                id: m.id,
                purpose: m.mail.purpose,
                ref_id: m.mail.ref_id.clone(),
                recipient: m.mail.recipient.clone(),
                subject: m.mail.subject.clone(),
                text: m.mail.text.clone(),
                html: m.mail.html.clone(),
                attempts: m.attempts,
            })
            .collect())
    }

    async fn next_mail_due(&self) -> Result<Option<i64>> {
        Ok(self
            .state()
            .outbox
            .iter()
            .filter_map(|m| m.next_attempt_at)
            .min())
    }

    async fn mint_mail_token(
        &self,
        mail: &OutboxMessage,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<bool> {
        let mut state = self.state();
        let waiting = state.outbox.iter().any(|m| {
            m.id == mail.id && matches!(m.status, DeliveryStatus::Queued | DeliveryStatus::Retrying)
        });
        if !waiting {
            return Ok(false);
        }
        let id = mail.ref_id.as_str();
        Ok(match mail.purpose {
            MailPurpose::Invitation => state.mint_invitation_token(id, token_hash, now_ms),
            MailPurpose::PasswordReset => state.mint_reset_token(id, token_hash, now_ms),
            MailPurpose::Offer => state.mint_offer_token(id, token_hash, now_ms),
            // No token to store; the worker does not mint one.
            MailPurpose::StoreShare
            | MailPurpose::DeadlineReminder
            | MailPurpose::WebhookDisabled => true,
        })
    }

    async fn mail_sent(&self, id: i64, now_ms: i64) -> Result<()> {
        if let Some(m) = self.state().mail_mut(id) {
            m.status = DeliveryStatus::Sent;
            m.sent_at = Some(now_ms);
            m.attempts += 1;
            m.next_attempt_at = None;
            m.last_error = None;
        }
        Ok(())
    }

    async fn mail_failed(&self, id: i64, error: &str, retry_at: Option<i64>) -> Result<()> {
        if let Some(m) = self.state().mail_mut(id) {
            m.status = if retry_at.is_some() {
                DeliveryStatus::Retrying
            } else {
                DeliveryStatus::Failed
            };
            m.attempts += 1;
            m.last_error = Some(error.to_owned());
            m.next_attempt_at = retry_at;
        }
        Ok(())
    }

    async fn mail_cancelled(&self, id: i64) -> Result<()> {
        if let Some(m) = self.state().mail_mut(id) {
            m.status = DeliveryStatus::Cancelled;
            m.next_attempt_at = None;
        }
        Ok(())
    }

    async fn queue_mail_once(&self, mails: &[NewMail]) -> Result<usize> {
        let mut state = self.state();
        let mut queued = 0;
        for mail in mails {
            let known = state.outbox.iter().any(|m| {
                m.mail.purpose == mail.purpose
                    && m.mail.ref_id == mail.ref_id
                    && m.mail.recipient == mail.recipient
            });
            if !known {
                state.queue_mail(mail);
                queued += 1;
            }
        }
        Ok(queued)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reminder(to: &str) -> NewMail {
        NewMail {
            purpose: MailPurpose::DeadlineReminder,
            ref_id: "cart@1".into(),
            recipient: to.into(),
            subject: "s".into(),
            text: "t".into(),
            html: "h".into(),
            now_ms: 1,
        }
    }

    #[tokio::test]
    async fn a_mail_queued_once_is_queued_once_per_recipient_and_key() {
        let store = MemoryStore::new();
        let both = [reminder("a@example.com"), reminder("b@example.com")];
        assert_eq!(store.queue_mail_once(&both).await.unwrap(), 2);
        // Seen again (a restart): nothing new, even once sent.
        let first = store.due_mail(1, 10).await.unwrap()[0].id;
        store.mail_sent(first, 2).await.unwrap();
        assert_eq!(store.queue_mail_once(&both).await.unwrap(), 0);
        // Another deadline of the same cart is another reminder.
        let mut later = reminder("a@example.com");
        later.ref_id = "cart@2".into();
        assert_eq!(store.queue_mail_once(&[later]).await.unwrap(), 1);
        assert_eq!(store.due_mail(10, 10).await.unwrap().len(), 2);
    }
}
