//! Sharing a cart: invitations by e-mail and share links, made and managed
//! by the cart's admins, and accepted (or declined) by whoever holds the
//! token. Every action becomes an activity event of the cart; a join also
//! tells the room, so that the new member's live sockets follow at once,
//! and the new member's connections (`carts_changed`), so that their open
//! lists of carts show it (`super::feed`).
//!
//! Here the rules of both (roles, expiry, addresses, token refusals);
//! `invitations`, `links` and `accept` hold the use cases.
//!
//! Tokens: an invitation's token is minted by the mail worker when it
//! sends the e-mail (`crate::mail`); a link's token is made here and shown
//! once, in the answer that creates the link. Both are 32 random bytes,
//! stored only as a purpose-bound SHA-256 (`crate::auth::purpose`) and
//! looked up by it. A token that is malformed, unknown, expired, revoked or
//! used up gets its stable code and no word about the cart.

mod accept;
mod invitations;
mod links;

use std::sync::Arc;

use cartroom_protocol::sharing::{
    DEFAULT_EXPIRY_DAYS, Delivery, DeliveryStatus, MAX_EXPIRY_DAYS, MIN_EXPIRY_DAYS,
};
use cartroom_protocol::{ErrorCode, MemberRole};

use super::feed::Feed;
use crate::auth::purpose::{Purpose, purpose_hash, well_formed};
use crate::clock::Clock;
use crate::mail::{MailQueue, PublicUrl};
use crate::refusal::Refusal;
use crate::store::sharing::{DeliveryRecord, JoinError};
use crate::store::{Accounts, Analytics, Memberships, Sharing};

/// Invitations one cart may have, in any state.
pub const MAX_INVITATIONS_PER_CART: usize = 500;
/// Share links one cart may have, in any state.
pub const MAX_LINKS_PER_CART: usize = 100;
pub const DAY_MS: i64 = 86_400_000;

/// Invitations and share links.
pub struct SharingService {
    sharing: Arc<dyn Sharing>,
    accounts: Arc<dyn Accounts>,
    members: Arc<dyn Memberships>,
    feed: Feed,
    clock: Arc<dyn Clock>,
    /// Woken when an e-mail is queued.
    mail: MailQueue,
    /// For the URL of a new share link.
    public_url: PublicUrl,
    /// Counts the opens of share links' pages (analytics).
    opens: Arc<dyn Analytics>,
}

/// What the sharing service is built from.
pub struct SharingDeps {
    pub sharing: Arc<dyn Sharing>,
    pub accounts: Arc<dyn Accounts>,
    pub members: Arc<dyn Memberships>,
    pub feed: Feed,
    pub clock: Arc<dyn Clock>,
    pub mail: MailQueue,
    pub public_url: PublicUrl,
    pub opens: Arc<dyn Analytics>,
}

impl SharingService {
    pub fn new(deps: SharingDeps) -> Self {
        Self {
            sharing: deps.sharing,
            accounts: deps.accounts,
            members: deps.members,
            feed: deps.feed,
            clock: deps.clock,
            mail: deps.mail,
            public_url: deps.public_url,
            opens: deps.opens,
        }
    }
}

/// The stored hash of a join token; a token the server cannot have made is
/// `invite_not_found` at once.
fn join_hash(token: &str) -> Result<String, Refusal> {
    if !well_formed(token.trim()) {
        return Err(join_refusal(JoinError::NotFound));
    }
    Ok(purpose_hash(Purpose::Join, token.trim()))
}

/// The refusal of a token that does not let someone in.
fn join_refusal(e: JoinError) -> Refusal {
    let (code, words) = match &e {
        JoinError::NotFound => (
            ErrorCode::InviteNotFound,
            "this invitation link is not valid; ask for a new one",
        ),
        JoinError::Expired => (
            ErrorCode::InviteExpired,
            "this invitation has expired; ask for a new one",
        ),
        JoinError::Revoked => (
            ErrorCode::InviteRevoked,
            "this invitation was withdrawn by the cart's admin",
        ),
        JoinError::UsedUp => (ErrorCode::InviteUsedUp, "this invitation was already used"),
        JoinError::TooMany(_) => return Refusal::new(ErrorCode::TooMany, e.to_string()),
        JoinError::Store(error) => {
            tracing::error!(%error, "storage error while joining a cart");
            return Refusal::unavailable();
        }
    };
    Refusal::new(code, words)
}

impl From<JoinError> for super::ServiceError {
    fn from(e: JoinError) -> Self {
        match e {
            JoinError::Store(e) => e.into(),
            other => join_refusal(other).into(),
        }
    }
}

fn invalid(message: impl Into<String>) -> Refusal {
    Refusal::new(ErrorCode::InvalidField, message)
}

/// An invitation or a link gives `viewer` or `editor`, never `admin`.
fn shared_role(role: MemberRole) -> Result<MemberRole, Refusal> {
    match role {
        MemberRole::Admin => Err(invalid(
            "an invitation or link gives the viewer or editor role; make an admin from the members list",
        )),
        role => Ok(role),
    }
}

/// 1..=365 days, 14 when absent (invitations, links and offers alike).
pub fn expiry_days(days: Option<u32>) -> Result<u32, Refusal> {
    let days = days.unwrap_or(DEFAULT_EXPIRY_DAYS);
    if !(MIN_EXPIRY_DAYS..=MAX_EXPIRY_DAYS).contains(&days) {
        return Err(invalid(format!(
            "expires_in_days is {MIN_EXPIRY_DAYS} to {MAX_EXPIRY_DAYS}"
        )));
    }
    Ok(days)
}

/// How an e-mail queued for an invitation or an offer is getting on; an
/// e-mail no longer in the outbox was cancelled.
pub fn delivery_view(delivery: Option<&DeliveryRecord>) -> Delivery {
    match delivery {
        Some(d) => Delivery {
            status: d.status,
            attempts: d.attempts,
            last_error: d.last_error.clone(),
            next_attempt_at: d.next_attempt_at,
            sent_at: d.sent_at,
        },
        None => Delivery {
            status: DeliveryStatus::Cancelled,
            attempts: 0,
            last_error: None,
            next_attempt_at: None,
            sent_at: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_of_an_invitation() {
        assert_eq!(expiry_days(None).unwrap(), 14);
        assert_eq!(expiry_days(Some(1)).unwrap(), 1);
        assert_eq!(expiry_days(Some(365)).unwrap(), 365);
        assert!(expiry_days(Some(0)).is_err());
        assert!(expiry_days(Some(366)).is_err());
        assert!(shared_role(MemberRole::Admin).is_err());
        assert_eq!(
            join_hash("nope").unwrap_err().code,
            ErrorCode::InviteNotFound
        );
    }
}
