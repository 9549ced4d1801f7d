//! E-mail: the outbox worker and where its e-mails go.
//!
//! Whatever causes an e-mail (an invitation, a resend, a password reset)
//! writes it to the outbox table in its own transaction, then wakes the
//! [`worker`]. The worker sends what is due, oldest first: it mints the
//! e-mail's token at that moment (so the outbox never holds one), stores the
//! token's hash on the invitation or reset, fills the link in and hands the
//! e-mail to the [`Transport`]: SMTP through `lettre` when `--smtp-url` is
//! set, else the [`mailbox`] under the data dir, which `/dev/mailbox` lists.
//! A failed attempt is recorded (and shown on the invitation) and retried
//! with back-off, a bounded number of times; nothing is lost across a
//! restart, since the outbox is the queue.
//!
//! # Layout
//! - [`worker`]: the task that drains the outbox.
//! - [`transport`]: SMTP or the dev mailbox.
//! - [`mailbox`]: the dev mailbox's files.
//! - [`templates`]: the e-mails' words, text and HTML.
//! - [`offer`]: the words of a cart the store's staff send to a customer.
//! - [`reminder`]: the words of a cart's deadline reminder to its members.

pub mod mailbox;
pub mod offer;
pub mod reminder;
pub mod templates;
pub mod transport;
pub mod worker;

use std::sync::{Arc, OnceLock};

use tokio::sync::Notify;

pub use mailbox::DevMailbox;
pub use transport::{Outgoing, Transport};
pub use worker::MailWorker;

/// Where the link goes in a queued e-mail's bodies. Text that people type
/// may not hold control characters (`crate::text`), so no invitation
/// message can forge it.
pub const LINK_PLACEHOLDER: &str = "\u{1}link\u{1}";

/// The address the server is reached at, for links in e-mails:
/// `--public-url`, else `http://` and the address it listens on (known once
/// it is bound).
#[derive(Clone, Debug, Default)]
pub struct PublicUrl(Arc<OnceLock<String>>);

impl PublicUrl {
    /// Sets the URL once (without a trailing slash); later calls do nothing.
    pub fn set(&self, url: &str) {
        let _ = self.0.set(url.trim_end_matches('/').to_owned());
    }

    /// The URL; `http://localhost` before it is set.
    pub fn get(&self) -> &str {
        self.0.get().map_or("http://localhost", String::as_str)
    }

    /// The page where a token of `path` is used: `<url>/<path>#<token>`.
    /// The token rides after `#`, which browsers never send to a server.
    pub fn token_link(&self, path: &str, token: &str) -> String {
        format!("{}/{path}#{token}", self.get())
    }
}

/// Wakes the mail worker when an e-mail was queued.
#[derive(Clone, Debug, Default)]
pub struct MailQueue(Arc<Notify>);

impl MailQueue {
    /// Tells the worker there is something to send (a wake-up with no
    /// worker waiting is kept for its next wait).
    pub fn wake(&self) {
        self.0.notify_one();
    }

    pub(crate) async fn woken(&self) {
        self.0.notified().await;
    }
}
