//! The bodies of the sharing API (`docs/protocol.md` section 11):
//! invitations by e-mail, share links, accepting either with a token, and
//! password reset by e-mail.
//!
//! A token (of an invitation's e-mail, of a share link, of a reset e-mail)
//! is shown once, in the mail or in the answer that creates the link; the
//! server keeps only its hash. Links carry it after `#`, so that it never
//! reaches a server log or a `Referer`.

use serde::{Deserialize, Serialize};

use crate::ids::{CartId, UserId};
pub use crate::ids::{InvitationId, LinkId};
use crate::messages::MemberRole;

/// Longest message of an invitation, in characters.
pub const MAX_INVITE_MESSAGE_CHARS: usize = 1000;
/// Shortest and longest life of an invitation or a link, in days.
pub const MIN_EXPIRY_DAYS: u32 = 1;
pub const MAX_EXPIRY_DAYS: u32 = 365;
/// The life of an invitation or a link when the request names none.
pub const DEFAULT_EXPIRY_DAYS: u32 = 14;
/// Most uses a limited share link may have.
pub const MAX_LINK_USES: u32 = 1000;

/// `POST /api/carts/{id}/invitations`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub email: String,
    /// At most 1,000 characters; may hold line breaks.
    #[serde(default)]
    pub message: String,
    /// `viewer` or `editor`.
    pub role: MemberRole,
    /// 1..=365; 14 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<u32>,
}

/// Where an invitation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    /// Sent (or being sent), not answered, not expired.
    Pending,
    Accepted,
    Declined,
    Expired,
    /// Revoked by an admin; a member who had accepted it stays a member.
    Revoked,
}

/// Where the e-mail of an invitation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its first attempt.
    Queued,
    /// Handed to the mail server (or written to the dev mailbox).
    Sent,
    /// An attempt failed; the next is at `next_attempt_at`.
    Retrying,
    /// Every attempt failed; resend the invitation to try again.
    Failed,
    /// Not sent: the invitation was answered, revoked or expired first, or
    /// a newer e-mail replaced it.
    Cancelled,
}

/// The latest e-mail of an invitation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Delivery {
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// What the last failed attempt said.
    pub last_error: Option<String>,
    /// Unix ms; while `retrying`.
    pub next_attempt_at: Option<i64>,
    /// Unix ms; once `sent`.
    pub sent_at: Option<i64>,
}

/// Who accepted an invitation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Acceptor {
    pub user_id: UserId,
    pub name: String,
}

/// An invitation as the cart's admins see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Invitation {
    pub id: InvitationId,
    pub email: String,
    pub message: String,
    pub role: MemberRole,
    /// The name of the admin who invited.
    pub invited_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub status: InvitationStatus,
    pub accepted_by: Option<Acceptor>,
    pub accepted_at: Option<i64>,
    pub declined_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub delivery: Delivery,
}

/// `GET /api/carts/{id}/invitations`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct InvitationsResponse {
    /// Newest first.
    pub invitations: Vec<Invitation>,
}

/// `POST /api/carts/{id}/links`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// `viewer` or `editor`.
    pub role: MemberRole,
    /// 1..=365; 14 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<u32>,
    /// 1..=1000 (1: single-use); absent or `null`: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u32>,
}

/// Where a share link stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    Active,
    Expired,
    Revoked,
    /// Every use of a limited link is taken.
    UsedUp,
}

/// A share link as the cart's admins see it (without its token, which only
/// the answer that created it carries).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ShareLink {
    pub id: LinkId,
    pub role: MemberRole,
    /// The name of the admin who created it.
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// `null`: unlimited.
    pub max_uses: Option<u32>,
    /// People who joined with it.
    pub uses: u32,
    pub status: LinkStatus,
    pub revoked_at: Option<i64>,
}

/// The answer to `POST /api/carts/{id}/links`: the only time the token is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CreatedLink {
    pub link: ShareLink,
    pub token: String,
    /// `<public url>/join#<token>`.
    pub url: String,
}

/// `GET /api/carts/{id}/links`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LinksResponse {
    /// Newest first.
    pub links: Vec<ShareLink>,
}

/// `POST /api/invites/lookup`, `/accept` and `/decline`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub token: String,
}

/// What a token opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum InviteKind {
    Invitation,
    Link,
}

/// `POST /api/invites/lookup`: what someone holding a valid token is
/// invited to, before they accept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct InvitePreview {
    pub kind: InviteKind,
    pub cart_name: String,
    /// The name of the admin who invited or made the link.
    pub invited_by: String,
    pub role: MemberRole,
    /// The invitation's message (`""` for a link).
    pub message: String,
    /// The invited address (`null` for a link), to fill in a sign-up form.
    pub email: Option<String>,
    pub expires_at: i64,
}

/// `POST /api/invites/accept`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AcceptResponse {
    pub cart_id: CartId,
    /// The caller's role in the cart now.
    pub role: MemberRole,
    /// True when the caller had already joined with this token (or was a
    /// member with at least this role): nothing changed.
    pub already_member: bool,
}

/// `POST /api/auth/password-reset`: asks for a reset e-mail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub email: String,
}

/// `POST /api/auth/password-reset/confirm`: sets a new password with the
/// e-mail's token; the answer is a new session (`SessionResponse`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmRequest {
    pub token: String,
    pub password: String,
}
