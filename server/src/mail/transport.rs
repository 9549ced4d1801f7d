//! Where e-mails go: an SMTP server (`--smtp-url`, through `lettre`), or
//! the dev mailbox when none is configured.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::mailbox::DevMailbox;

/// How long one SMTP exchange may take before the attempt counts as failed.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// One e-mail, ready to send.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Outgoing {
    /// The MIME message: text and HTML alternatives.
    pub fn message(&self, from: &Mailbox) -> Result<Message, String> {
        let to: Mailbox = self
            .to
            .parse()
            .map_err(|e| format!("bad recipient address: {e}"))?;
        Message::builder()
            .from(from.clone())
            .to(to)
            .subject(self.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                self.text.clone(),
                self.html.clone(),
            ))
            .map_err(|e| format!("cannot build the e-mail: {e}"))
    }
}

/// Why the transport could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("--smtp-url: {0}")]
    SmtpUrl(String),
    #[error("--mail-from: {0}")]
    From(String),
    #[error("the dev mailbox: {0}")]
    Mailbox(#[from] std::io::Error),
}

/// An SMTP server, or the dev mailbox.
pub enum Transport {
    Smtp {
        smtp: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    DevMailbox {
        mailbox: DevMailbox,
        from: Mailbox,
    },
}

impl Transport {
    /// SMTP at `url` (`smtp://host:port`, `smtp://user:pass@host?tls=required`,
    /// `smtps://...`: lettre's connection URLs).
    pub fn smtp(url: &str, from: &str) -> Result<Self, TransportError> {
        let smtp = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| TransportError::SmtpUrl(e.to_string()))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Self::Smtp {
            smtp,
            from: parse_from(from)?,
        })
    }

    /// The dev mailbox (its folder is created).
    pub fn dev_mailbox(mailbox: DevMailbox, from: &str) -> Result<Self, TransportError> {
        mailbox.create()?;
        Ok(Self::DevMailbox {
            mailbox,
            from: parse_from(from)?,
        })
    }

    /// Sends one e-mail; the error says why it did not go, in words fit to
    /// show on the invitation (no token: a transport error never quotes
    /// the message).
    pub async fn send(&self, id: i64, mail: &Outgoing) -> Result<(), String> {
        match self {
            Self::Smtp { smtp, from } => {
                let message = mail.message(from)?;
                smtp.send(message).await.map(drop).map_err(|e| {
                    let mut words = format!("the mail server: {e}");
                    words.truncate(300);
                    words
                })
            }
            Self::DevMailbox { mailbox, from } => {
                let message = mail.message(from)?;
                mailbox
                    .store(id, mail, &message.formatted())
                    .await
                    .map_err(|e| format!("the dev mailbox: {e}"))
            }
        }
    }

    /// Whether e-mails go to the dev mailbox (and `/dev/mailbox` lists them).
    pub fn is_dev_mailbox(&self) -> bool {
        matches!(self, Self::DevMailbox { .. })
    }
}

fn parse_from(from: &str) -> Result<Mailbox, TransportError> {
    from.parse()
        .map_err(|e: lettre::address::AddressError| TransportError::From(e.to_string()))
}
