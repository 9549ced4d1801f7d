//! Sharing as the store keeps it: invitations, share links, password
//! resets, and the outbox of e-mails they cause. Each thing that causes an
//! e-mail writes it in the same transaction, so a crash loses neither; the
//! mail worker (`crate::mail`) sends what the outbox holds.
//!
//! Joining (with an invitation or a link) checks the token, changes the
//! membership and counts the use in one transaction: a single-use link
//! opened twice at once makes exactly one member.

use async_trait::async_trait;
use cartroom_protocol::http::User;
use cartroom_protocol::sharing::{DeliveryStatus, InvitationId, LinkId};
use cartroom_protocol::{CartId, MemberRole, UserId};

use super::{Result, StoreError};

/// Why an e-mail is sent; names the table its `ref_id` points into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailPurpose {
    Invitation,
    PasswordReset,
    /// A cart the store's staff sent to a customer (`offers`).
    Offer,
    /// Tells a staff member a cart was shared with the store
    /// (`store_shares`). It carries no token: staff open the cart by their
    /// role, so its body holds the link already.
    StoreShare,
    /// Reminds a cart's member of its deadline (`ref_id`:
    /// `<cart id>@<deadline ms>`). No token: the member opens the cart as
    /// a member; the worker links to the cart's page.
    DeadlineReminder,
    /// Tells a store's owner that a webhook endpoint was disabled after a
    /// day of failures (`ref_id`: the endpoint's id). No token.
    WebhookDisabled,
}

impl MailPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invitation => "invitation",
            Self::PasswordReset => "password_reset",
            Self::Offer => "offer",
            Self::StoreShare => "store_share",
            Self::DeadlineReminder => "deadline_reminder",
            Self::WebhookDisabled => "webhook_disabled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "invitation" => Some(Self::Invitation),
            "password_reset" => Some(Self::PasswordReset),
            "offer" => Some(Self::Offer),
            "store_share" => Some(Self::StoreShare),
            "deadline_reminder" => Some(Self::DeadlineReminder),
            "webhook_disabled" => Some(Self::WebhookDisabled),
            _ => None,
        }
    }
}

/// The stable string form of a delivery status, as stored.
pub fn delivery_status_str(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Queued => "queued",
        DeliveryStatus::Sent => "sent",
        DeliveryStatus::Retrying => "retrying",
        DeliveryStatus::Failed => "failed",
        DeliveryStatus::Cancelled => "cancelled",
    }
}

/// Parses a stored delivery status.
pub fn parse_delivery_status(s: &str) -> Result<DeliveryStatus> {
    Ok(match s {
        "queued" => DeliveryStatus::Queued,
        "sent" => DeliveryStatus::Sent,
        "retrying" => DeliveryStatus::Retrying,
        "failed" => DeliveryStatus::Failed,
        "cancelled" => DeliveryStatus::Cancelled,
        other => {
            return Err(StoreError::Corrupt(format!(
                "bad delivery status {other:?}"
            )));
        }
    })
}

/// An e-mail to queue. Its bodies hold [`crate::mail::LINK_PLACEHOLDER`]
/// where the link goes; the worker fills it in when it sends.
#[derive(Clone, Debug)]
pub struct NewMail {
    pub purpose: MailPurpose,
    /// The invitation's or the reset's id.
    pub ref_id: String,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub now_ms: i64,
}

/// An e-mail the worker is to send now.
#[derive(Clone, Debug)]
pub struct OutboxMessage {
    pub id: i64,
    pub purpose: MailPurpose,
    pub ref_id: String,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// The latest e-mail of an invitation, as the store has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<i64>,
    pub sent_at: Option<i64>,
}

/// A new invitation (its e-mail is queued with it).
#[derive(Clone, Debug)]
pub struct NewInvitation {
    pub id: InvitationId,
    pub cart: CartId,
    /// Lower-cased.
    pub email: String,
    pub message: String,
    pub role: MemberRole,
    pub invited_by: UserId,
    pub now_ms: i64,
    pub expires_at: i64,
}

/// An invitation with the names around it.
#[derive(Clone, Debug)]
pub struct InvitationRecord {
    pub id: InvitationId,
    pub cart: CartId,
    pub email: String,
    pub message: String,
    pub role: MemberRole,
    pub invited_by: UserId,
    pub invited_by_name: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// Who accepted it, and their name.
    pub accepted_by: Option<(UserId, String)>,
    pub accepted_at: Option<i64>,
    pub declined_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// Its latest e-mail.
    pub delivery: Option<DeliveryRecord>,
}

/// A new share link; the token was shown to its creator and only its hash
/// is kept.
#[derive(Clone, Debug)]
pub struct NewLink {
    pub id: LinkId,
    pub cart: CartId,
    pub role: MemberRole,
    pub created_by: UserId,
    pub now_ms: i64,
    pub expires_at: i64,
    pub token_hash: String,
    /// `None`: unlimited.
    pub max_uses: Option<u32>,
}

/// A share link with its creator's name.
#[derive(Clone, Debug)]
pub struct LinkRecord {
    pub id: LinkId,
    pub cart: CartId,
    pub role: MemberRole,
    pub created_by: UserId,
    pub created_by_name: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub max_uses: Option<u32>,
    pub uses: u32,
    pub revoked_at: Option<i64>,
}

/// Someone joined a cart with a token (or had already).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Joined {
    pub cart: CartId,
    /// The joiner's role now.
    pub role: MemberRole,
    /// The role before (`None`: was not a member).
    pub previous: Option<MemberRole>,
    /// Nothing changed: this token was already used by this user, or the
    /// user was a member with at least the role it gives.
    pub already_member: bool,
    /// Who invited or made the link, and their name.
    pub inviter: (UserId, String),
}

/// Why a token did not let someone in.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("no invitation or link has this token")]
    NotFound,
    #[error("this invitation or link has expired")]
    Expired,
    #[error("this invitation or link was revoked")]
    Revoked,
    #[error("this invitation was already answered, or this link has no uses left")]
    UsedUp,
    #[error("a cart has at most {0} members")]
    TooMany(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for JoinError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// A password reset asked for by e-mail.
#[derive(Clone, Debug)]
pub struct NewReset {
    pub id: String,
    pub user: UserId,
    pub now_ms: i64,
    pub expires_at: i64,
}

/// Invitations and share links of carts.
#[async_trait]
pub trait Sharing: Send + Sync {
    /// The cart's name (as its summary columns have it); `None`: no cart.
    async fn cart_name(&self, cart: CartId) -> Result<Option<String>>;

    /// Writes the invitation and queues its e-mail, atomically.
    async fn create_invitation(&self, invitation: &NewInvitation, mail: &NewMail) -> Result<()>;

    /// The cart's invitations, newest first.
    async fn invitations(&self, cart: CartId) -> Result<Vec<InvitationRecord>>;

    async fn invitation(&self, cart: CartId, id: InvitationId) -> Result<Option<InvitationRecord>>;

    /// Queues another e-mail of the invitation and cancels the ones not
    /// sent yet, atomically; false when there is no such invitation.
    async fn requeue_invitation(
        &self,
        cart: CartId,
        id: InvitationId,
        mail: &NewMail,
    ) -> Result<bool>;

    /// Marks the invitation revoked (once) and cancels its unsent e-mails;
    /// false when there is no such invitation.
    async fn revoke_invitation(&self, cart: CartId, id: InvitationId, now_ms: i64) -> Result<bool>;

    async fn invitation_by_token(&self, token_hash: &str) -> Result<Option<InvitationRecord>>;

    /// Makes `user` a member with the invitation's role (never lowering a
    /// role) and marks it accepted, in one transaction. Accepting again by
    /// the same user, while still a member, changes nothing.
    async fn accept_invitation(
        &self,
        token_hash: &str,
        user: UserId,
        now_ms: i64,
        max_members: usize,
    ) -> Result<Joined, JoinError>;

    /// Marks the invitation declined (declining twice is one decline).
    async fn decline_invitation(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<InvitationRecord, JoinError>;

    async fn create_link(&self, link: &NewLink) -> Result<()>;

    /// The cart's share links, newest first.
    async fn links(&self, cart: CartId) -> Result<Vec<LinkRecord>>;

    async fn link(&self, cart: CartId, id: LinkId) -> Result<Option<LinkRecord>>;

    /// Marks the link revoked (once); false when there is no such link.
    async fn revoke_link(&self, cart: CartId, id: LinkId, now_ms: i64) -> Result<bool>;

    async fn link_by_token(&self, token_hash: &str) -> Result<Option<LinkRecord>>;

    /// Makes `user` a member with the link's role (never lowering a role)
    /// and counts the use, in one transaction. A user who already joined
    /// with it, or is a member with at least its role, uses nothing.
    async fn accept_link(
        &self,
        token_hash: &str,
        user: UserId,
        now_ms: i64,
        max_members: usize,
    ) -> Result<Joined, JoinError>;
}

/// Password resets.
#[async_trait]
pub trait PasswordResets: Send + Sync {
    /// Writes the reset and queues its e-mail, atomically.
    async fn create_reset(&self, reset: &NewReset, mail: &NewMail) -> Result<()>;

    /// Uses the reset once: sets the password hash, ends every session of
    /// the user, marks the reset used, in one transaction. `None`: no such
    /// token, or it is used or expired.
    async fn use_reset(
        &self,
        token_hash: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<Option<User>>;
}

/// The e-mails waiting to be sent.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// E-mails due at `now_ms`, oldest first, at most `limit`.
    async fn due_mail(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxMessage>>;

    /// When the next e-mail is due; `None`: nothing waits.
    async fn next_mail_due(&self) -> Result<Option<i64>>;

    /// Stores the hash of the token this e-mail will carry on the
    /// invitation or reset it is for, if that still waits for it (not
    /// answered, revoked, used or expired); false: do not send it.
    async fn mint_mail_token(
        &self,
        mail: &OutboxMessage,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<bool>;

    async fn mail_sent(&self, id: i64, now_ms: i64) -> Result<()>;

    /// Records a failed attempt: to be tried again at `retry_at`, or
    /// (`None`) given up.
    async fn mail_failed(&self, id: i64, error: &str, retry_at: Option<i64>) -> Result<()>;

    async fn mail_cancelled(&self, id: i64) -> Result<()>;

    /// Queues each of `mails` unless the outbox already holds an e-mail of
    /// the same purpose, `ref_id` and recipient (in any status), all in one
    /// transaction; returns how many it queued. For e-mails that must go
    /// out once per cause even when their cause is seen again (a deadline's
    /// reminder after a restart).
    async fn queue_mail_once(&self, mails: &[NewMail]) -> Result<usize>;
}
