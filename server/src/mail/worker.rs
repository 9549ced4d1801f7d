//! The mail worker: one task that drains the outbox. It sends what is due,
//! oldest first; then it waits until it is woken (an e-mail was queued),
//! the next retry is due, or shutdown.
//!
//! Each attempt mints a fresh token for the e-mail and stores its hash on
//! the invitation or reset before sending, so the link in the e-mail that
//! arrives is the one that works, and the outbox never holds a token. A
//! failed attempt is recorded with its error and retried after a back-off
//! that doubles from [`FIRST_RETRY`] up to [`LONGEST_RETRY`]; after
//! [`MAX_ATTEMPTS`] the e-mail is marked failed (an admin may resend the
//! invitation). The outbox is the queue, so a restart loses nothing.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::offer::{OFFER_PATH, STORE_SHARED_PAGE};
use super::reminder::cart_page;
use super::templates::{JOIN_PATH, RESET_PATH, with_link};
use super::transport::{Outgoing, Transport};
use super::{MailQueue, PublicUrl};
use crate::auth::purpose::{Purpose, new_token, purpose_hash};
use crate::clock::Clock;
use crate::integrations::webhooks::WEBHOOKS_PAGE;
use crate::store::sharing::{MailPurpose, OutboxMessage};
use crate::store::{Outbox, Result};

/// The wait before the first retry; each later one doubles it.
pub const FIRST_RETRY: Duration = Duration::from_secs(2);
/// The longest wait between two attempts.
pub const LONGEST_RETRY: Duration = Duration::from_secs(15 * 60);
/// Attempts before an e-mail is marked failed (about 4 hours of trying).
pub const MAX_ATTEMPTS: u32 = 24;
/// E-mails taken from the outbox at a time.
const BATCH: usize = 32;
/// The longest the worker sleeps without looking at the outbox (also how
/// soon it tries again when the database fails).
const LONGEST_SLEEP: Duration = Duration::from_secs(30);

/// The wait after the `attempts`-th failed attempt.
pub fn retry_delay(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(20);
    FIRST_RETRY
        .saturating_mul(1 << doublings)
        .min(LONGEST_RETRY)
}

/// Drains the outbox through a transport.
pub struct MailWorker {
    pub outbox: Arc<dyn Outbox>,
    pub transport: Transport,
    pub public_url: PublicUrl,
    pub clock: Arc<dyn Clock>,
    pub queue: MailQueue,
}

impl MailWorker {
    /// Runs until `shutdown`; an e-mail being sent then is finished first.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let wait = match self.send_due().await {
                Ok(()) => self.until_next().await,
                Err(e) => {
                    tracing::error!(error = %e, "the outbox cannot be read; trying again later");
                    LONGEST_SLEEP
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.queue.woken() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        tracing::debug!("mail worker stopped");
    }

    /// Sends every e-mail due now.
    async fn send_due(&self) -> Result<()> {
        loop {
            let due = self.outbox.due_mail(self.clock.now_ms(), BATCH).await?;
            let full = due.len() == BATCH;
            for mail in due {
                self.attempt(mail).await?;
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// How long until the next e-mail is due.
    async fn until_next(&self) -> Duration {
        match self.outbox.next_mail_due().await {
            Ok(Some(at)) => {
                let ms = (at - self.clock.now_ms()).max(0) as u64;
                Duration::from_millis(ms).min(LONGEST_SLEEP)
            }
            Ok(None) => LONGEST_SLEEP,
            Err(_) => LONGEST_SLEEP,
        }
    }

    /// One attempt at one e-mail.
    async fn attempt(&self, mail: OutboxMessage) -> Result<()> {
        let now = self.clock.now_ms();
        let (purpose, path) = match mail.purpose {
            MailPurpose::Invitation => (Purpose::Join, JOIN_PATH),
            MailPurpose::PasswordReset => (Purpose::PasswordReset, RESET_PATH),
            MailPurpose::Offer => (Purpose::Offer, OFFER_PATH),
            // No token: the staff open the shared cart by their role.
            MailPurpose::StoreShare => {
                let link = format!("{}/{STORE_SHARED_PAGE}", self.public_url.get());
                return self.deliver(mail, &link).await;
            }
            // No token: members open their cart signed in.
            MailPurpose::DeadlineReminder => {
                let cart = mail.ref_id.split_once('@').map_or("", |(cart, _)| cart);
                let link = cart_page(self.public_url.get(), cart);
                return self.deliver(mail, &link).await;
            }
            // No token: the owner opens the store's webhooks signed in.
            MailPurpose::WebhookDisabled => {
                let link = format!("{}/{WEBHOOKS_PAGE}", self.public_url.get());
                return self.deliver(mail, &link).await;
            }
        };
        let token = new_token();
        if !self
            .outbox
            .mint_mail_token(&mail, &purpose_hash(purpose, &token), now)
            .await?
        {
            // Answered, revoked, used or expired meanwhile: nothing to send.
            tracing::debug!(mail_id = mail.id, "e-mail no longer needed");
            return self.outbox.mail_cancelled(mail.id).await;
        }
        let link = self.public_url.token_link(path, &token);
        self.deliver(mail, &link).await
    }

    /// Sends one e-mail with its link filled in, and records how it went.
    async fn deliver(&self, mail: OutboxMessage, link: &str) -> Result<()> {
        let outgoing = Outgoing {
            to: mail.recipient.clone(),
            subject: mail.subject.clone(),
            text: with_link(&mail.text, link, false),
            html: with_link(&mail.html, link, true),
        };
        let attempt = mail.attempts + 1;
        match self.transport.send(mail.id, &outgoing).await {
            Ok(()) => {
                metrics::counter!("cartroom_mail_sent_total").increment(1);
                tracing::info!(
                    mail_id = mail.id,
                    attempt,
                    purpose = mail.purpose.as_str(),
                    "e-mail sent"
                );
                self.outbox.mail_sent(mail.id, self.clock.now_ms()).await
            }
            Err(error) => {
                metrics::counter!("cartroom_mail_failed_attempts_total").increment(1);
                let retry_at = (attempt < MAX_ATTEMPTS)
                    .then(|| self.clock.now_ms() + retry_delay(attempt).as_millis() as i64);
                tracing::warn!(mail_id = mail.id, attempt, %error, gave_up = retry_at.is_none(), "e-mail not sent");
                self.outbox.mail_failed(mail.id, &error, retry_at).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use cartroom_protocol::sharing::{DeliveryStatus, InvitationId};
    use cartroom_protocol::{CartId, MemberRole, UserId};

    use super::*;
    use crate::clock::ManualClock;
    use crate::mail::DevMailbox;
    use crate::store::memory::MemoryStore;
    use crate::store::sharing::{NewInvitation, NewMail};
    use crate::store::{Accounts, Carts, NewCart, Sharing};

    /// A cart with one invitation whose e-mail is queued, in memory.
    async fn queued_invitation(store: &MemoryStore, now: i64) -> (CartId, InvitationId) {
        let ana = cartroom_protocol::http::User {
            id: UserId::new_random(),
            email: Some("ana@example.com".into()),
            name: "Ana".into(),
            guest: false,
        };
        store.insert_user(&ana, None, now).await.unwrap();
        let cart = CartId::new_random();
        let new_cart = NewCart {
            id: cart,
            store_id: "demo",
            name: "BBQ",
            creator: ana.id,
            snapshot: &[],
            now_ms: now,
        };
        store.create_cart(new_cart).await.unwrap();
        let id = InvitationId::new_random();
        let invitation = NewInvitation {
            id,
            cart,
            email: "grandma@example.com".into(),
            message: String::new(),
            role: MemberRole::Editor,
            invited_by: ana.id,
            now_ms: now,
            expires_at: now + 14 * 86_400_000,
        };
        let mail = NewMail {
            purpose: MailPurpose::Invitation,
            ref_id: id.to_string(),
            recipient: "grandma@example.com".into(),
            subject: "Ana invited you".into(),
            text: format!("Open: {}", super::super::LINK_PLACEHOLDER),
            html: String::new(),
            now_ms: now,
        };
        store.create_invitation(&invitation, &mail).await.unwrap();
        (cart, id)
    }

    fn worker(
        store: &Arc<MemoryStore>,
        transport: Transport,
        clock: &Arc<ManualClock>,
    ) -> MailWorker {
        let public_url = PublicUrl::default();
        public_url.set("http://carts.example");
        MailWorker {
            outbox: store.clone(),
            transport,
            public_url,
            clock: clock.clone(),
            queue: MailQueue::default(),
        }
    }

    #[tokio::test]
    async fn a_failing_mail_server_is_retried_with_back_off_then_given_up() {
        let start = 1_800_000_000_000;
        let clock = Arc::new(ManualClock::at(start));
        let store = Arc::new(MemoryStore::new());
        let (cart, id) = queued_invitation(&store, start).await;
        // A port where nothing listens: every attempt is refused at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let transport = Transport::smtp(
            &format!("smtp://127.0.0.1:{port}"),
            "Cartroom <c@localhost>",
        )
        .unwrap();
        let worker = worker(&store, transport, &clock);

        for attempt in 1..=MAX_ATTEMPTS {
            worker.send_due().await.unwrap();
            let record = store.invitation(cart, id).await.unwrap().unwrap();
            let delivery = record.delivery.unwrap();
            assert_eq!(delivery.attempts, attempt);
            assert!(
                delivery
                    .last_error
                    .as_deref()
                    .is_some_and(|e| !e.is_empty())
            );
            if attempt < MAX_ATTEMPTS {
                assert_eq!(delivery.status, DeliveryStatus::Retrying);
                let wait = retry_delay(attempt).as_millis() as i64;
                assert_eq!(delivery.next_attempt_at, Some(clock.now_ms() + wait));
                // Not before it is due.
                clock.advance_ms(wait - 1);
                worker.send_due().await.unwrap();
                let again = store.invitation(cart, id).await.unwrap().unwrap();
                assert_eq!(again.delivery.unwrap().attempts, attempt);
                clock.advance_ms(1);
            } else {
                assert_eq!(delivery.status, DeliveryStatus::Failed);
                assert_eq!(delivery.next_attempt_at, None);
            }
        }
        assert_eq!(store.next_mail_due().await.unwrap(), None, "given up");
    }

    #[tokio::test]
    async fn the_dev_mailbox_gets_the_e_mail_with_a_working_link() {
        let start = 1_800_000_000_000;
        let clock = Arc::new(ManualClock::at(start));
        let store = Arc::new(MemoryStore::new());
        let (cart, id) = queued_invitation(&store, start).await;
        let dir = tempfile::tempdir().unwrap();
        let mailbox = DevMailbox::in_data_dir(dir.path());
        let transport = Transport::dev_mailbox(mailbox.clone(), "Cartroom <c@localhost>").unwrap();
        worker(&store, transport, &clock).send_due().await.unwrap();

        let mails = mailbox.list().await.unwrap();
        assert_eq!(mails.len(), 1);
        let token = mails[0]
            .text
            .strip_prefix("Open: http://carts.example/join#")
            .expect("the link is filled in");
        let hash = purpose_hash(Purpose::Join, token);
        let found = store.invitation_by_token(&hash).await.unwrap().unwrap();
        assert_eq!(found.id, id);
        let record = store.invitation(cart, id).await.unwrap().unwrap();
        assert_eq!(record.delivery.unwrap().status, DeliveryStatus::Sent);
    }

    #[test]
    fn retries_back_off_to_a_bound() {
        assert_eq!(retry_delay(1), FIRST_RETRY);
        assert_eq!(retry_delay(2), FIRST_RETRY * 2);
        assert_eq!(retry_delay(5), FIRST_RETRY * 16);
        assert_eq!(retry_delay(MAX_ATTEMPTS), LONGEST_RETRY);
        assert_eq!(retry_delay(u32::MAX), LONGEST_RETRY);
        let total: Duration = (1..MAX_ATTEMPTS).map(retry_delay).sum();
        assert!(total > Duration::from_secs(3 * 3600), "{total:?}");
    }
}
