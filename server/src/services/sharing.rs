//! Sharing a cart: invitations by e-mail and share links, made and managed
//! by the cart's admins, and accepted (or declined) by whoever holds the
//! token. Every action becomes an activity event of the cart; a join also
//! tells the room, so that the new member's live sockets follow at once.
//!
//! Tokens: an invitation's token is minted by the mail worker when it
//! sends the e-mail (`crate::mail`); a link's token is made here and shown
//! once, in the answer that creates the link. Both are 32 random bytes,
//! stored only as a purpose-bound SHA-256 (`crate::auth::purpose`) and
//! looked up by it. A token that is malformed, unknown, expired, revoked or
//! used up gets its stable code and no word about the cart.

use std::sync::Arc;

use cartroom_protocol::sharing::{
    AcceptResponse, Acceptor, CreatedLink, DEFAULT_EXPIRY_DAYS, Delivery, DeliveryStatus,
    Invitation, InvitationId, InvitationStatus, InviteKind, InvitePreview, InviteRequest, LinkId,
    LinkRequest, LinkStatus, MAX_EXPIRY_DAYS, MAX_INVITE_MESSAGE_CHARS, MAX_LINK_USES,
    MIN_EXPIRY_DAYS, ShareLink,
};
use cartroom_protocol::{CartId, ErrorCode, MemberRole};

use super::accounts::normalize_email;
use super::error::Result;
use super::members::MAX_MEMBERS;
use crate::auth::purpose::{Purpose, new_token, purpose_hash, well_formed};
use crate::cart::Actor;
use crate::clock::Clock;
use crate::mail::templates::{self, InvitationMail, JOIN_PATH};
use crate::mail::{MailQueue, PublicUrl};
use crate::policy::with_article;
use crate::refusal::Refusal;
use crate::room::{RoomCmd, Rooms};
use crate::store::sharing::{
    InvitationRecord, JoinError, Joined, LinkRecord, MailPurpose, NewInvitation, NewLink, NewMail,
};
use crate::store::{Accounts, Memberships, Sharing};
use crate::text;

/// Invitations one cart may have, in any state.
pub const MAX_INVITATIONS_PER_CART: usize = 500;
/// Share links one cart may have, in any state.
pub const MAX_LINKS_PER_CART: usize = 100;
const DAY_MS: i64 = 86_400_000;

/// Invitations and share links.
pub struct SharingService {
    sharing: Arc<dyn Sharing>,
    accounts: Arc<dyn Accounts>,
    members: Arc<dyn Memberships>,
    rooms: Arc<Rooms>,
    clock: Arc<dyn Clock>,
    /// Woken when an e-mail is queued.
    mail: MailQueue,
    /// For the URL of a new share link.
    public_url: PublicUrl,
}

/// What the sharing service is built from.
pub struct SharingDeps {
    pub sharing: Arc<dyn Sharing>,
    pub accounts: Arc<dyn Accounts>,
    pub members: Arc<dyn Memberships>,
    pub rooms: Arc<Rooms>,
    pub clock: Arc<dyn Clock>,
    pub mail: MailQueue,
    pub public_url: PublicUrl,
}

impl SharingService {
    pub fn new(deps: SharingDeps) -> Self {
        Self {
            sharing: deps.sharing,
            accounts: deps.accounts,
            members: deps.members,
            rooms: deps.rooms,
            clock: deps.clock,
            mail: deps.mail,
            public_url: deps.public_url,
        }
    }

    /// Invites `req.email` to the cart and queues the e-mail, atomically.
    pub async fn invite(&self, cart: CartId, by: &Actor, req: InviteRequest) -> Result<Invitation> {
        let email = valid_email(&req.email)?;
        let role = shared_role(req.role)?;
        let message = req.message.trim().to_owned();
        text::check_multiline("a message", &message, MAX_INVITE_MESSAGE_CHARS)?;
        let days = expiry_days(req.expires_in_days)?;
        if let Some((user, _)) = self.accounts.user_by_email(&email).await?
            && self.members.role_of(cart, user.id).await?.is_some()
        {
            return Err(Refusal::new(
                ErrorCode::AlreadyMember,
                format!("{email} is already a member of this cart"),
            )
            .into());
        }
        if self.sharing.invitations(cart).await?.len() >= MAX_INVITATIONS_PER_CART {
            return Err(Refusal::new(
                ErrorCode::TooMany,
                format!("a cart has at most {MAX_INVITATIONS_PER_CART} invitations"),
            )
            .into());
        }
        let now = self.clock.now_ms();
        let invitation = NewInvitation {
            id: InvitationId::new_random(),
            cart,
            email: email.clone(),
            message,
            role,
            invited_by: by.user_id,
            now_ms: now,
            expires_at: now + i64::from(days) * DAY_MS,
        };
        let mail = self
            .invitation_mail(cart, &invitation, &by.name, now)
            .await?;
        self.sharing.create_invitation(&invitation, &mail).await?;
        self.mail.wake();
        let text = format!("{} invited {email} as {}", by.name, with_article(role));
        self.note(cart, by, "invitation_sent", text, None).await;
        self.invitation(cart, invitation.id).await
    }

    /// The cart's invitations, newest first.
    pub async fn invitations(&self, cart: CartId) -> Result<Vec<Invitation>> {
        let now = self.clock.now_ms();
        let records = self.sharing.invitations(cart).await?;
        Ok(records.iter().map(|r| invitation_view(r, now)).collect())
    }

    /// Sends a pending invitation's e-mail again, with a new link (the old
    /// one stops working when the new e-mail goes out).
    pub async fn resend(&self, cart: CartId, by: &Actor, id: InvitationId) -> Result<Invitation> {
        let now = self.clock.now_ms();
        let record = self.record(cart, id).await?;
        if let Err(e) = open_invitation(&record, now) {
            return Err(join_refusal(e).into());
        }
        let new = NewInvitation {
            id: record.id,
            cart,
            email: record.email.clone(),
            message: record.message.clone(),
            role: record.role,
            invited_by: record.invited_by,
            now_ms: record.created_at,
            expires_at: record.expires_at,
        };
        let mail = self
            .invitation_mail(cart, &new, &record.invited_by_name, now)
            .await?;
        if !self.sharing.requeue_invitation(cart, id, &mail).await? {
            return Err(no_invitation().into());
        }
        self.mail.wake();
        let text = format!("{} sent the invitation to {} again", by.name, record.email);
        self.note(cart, by, "invitation_resent", text, None).await;
        self.invitation(cart, id).await
    }

    /// Revokes an invitation: its link stops working; a member who accepted
    /// it stays a member.
    pub async fn revoke(&self, cart: CartId, by: &Actor, id: InvitationId) -> Result<Invitation> {
        let record = self.record(cart, id).await?;
        if record.revoked_at.is_none() {
            let now = self.clock.now_ms();
            self.sharing.revoke_invitation(cart, id, now).await?;
            let text = format!("{} revoked the invitation of {}", by.name, record.email);
            self.note(cart, by, "invitation_revoked", text, None).await;
        }
        self.invitation(cart, id).await
    }

    /// Makes a share link; the answer is the only place its token appears.
    pub async fn create_link(
        &self,
        cart: CartId,
        by: &Actor,
        req: LinkRequest,
    ) -> Result<CreatedLink> {
        let role = shared_role(req.role)?;
        let days = expiry_days(req.expires_in_days)?;
        if let Some(max) = req.max_uses
            && !(1..=MAX_LINK_USES).contains(&max)
        {
            return Err(invalid(format!(
                "max_uses is 1 to {MAX_LINK_USES}, or null for unlimited"
            ))
            .into());
        }
        if self.sharing.links(cart).await?.len() >= MAX_LINKS_PER_CART {
            return Err(Refusal::new(
                ErrorCode::TooMany,
                format!("a cart has at most {MAX_LINKS_PER_CART} share links"),
            )
            .into());
        }
        let now = self.clock.now_ms();
        let token = new_token();
        let link = NewLink {
            id: LinkId::new_random(),
            cart,
            role,
            created_by: by.user_id,
            now_ms: now,
            expires_at: now + i64::from(days) * DAY_MS,
            token_hash: purpose_hash(Purpose::Join, &token),
            max_uses: req.max_uses,
        };
        self.sharing.create_link(&link).await?;
        let uses = match req.max_uses {
            None => "unlimited uses".to_owned(),
            Some(1) => "single use".to_owned(),
            Some(n) => format!("{n} uses"),
        };
        let text = format!(
            "{} made a share link for {}s ({uses}, until {})",
            by.name,
            role.as_str(),
            templates::utc_date_time(link.expires_at)
        );
        self.note(cart, by, "link_created", text, None).await;
        let record = self
            .sharing
            .link(cart, link.id)
            .await?
            .ok_or_else(no_link)?;
        Ok(CreatedLink {
            link: link_view(&record, now),
            url: self.public_url.token_link(JOIN_PATH, &token),
            token,
        })
    }

    /// The cart's share links, newest first.
    pub async fn links(&self, cart: CartId) -> Result<Vec<ShareLink>> {
        let now = self.clock.now_ms();
        let records = self.sharing.links(cart).await?;
        Ok(records.iter().map(|r| link_view(r, now)).collect())
    }

    /// Revokes a share link: nobody joins with it from now on.
    pub async fn revoke_link(&self, cart: CartId, by: &Actor, id: LinkId) -> Result<ShareLink> {
        let record = self.sharing.link(cart, id).await?.ok_or_else(no_link)?;
        let now = self.clock.now_ms();
        if record.revoked_at.is_none() {
            self.sharing.revoke_link(cart, id, now).await?;
            let text = format!(
                "{} revoked a share link for {}s ({} joined with it)",
                by.name,
                record.role.as_str(),
                record.uses
            );
            self.note(cart, by, "link_revoked", text, None).await;
        }
        let record = self.sharing.link(cart, id).await?.ok_or_else(no_link)?;
        Ok(link_view(&record, now))
    }

    /// What a token invites to, for the page that asks to accept it.
    pub async fn preview(&self, token: &str) -> Result<InvitePreview> {
        let hash = join_hash(token)?;
        let now = self.clock.now_ms();
        if let Some(inv) = self.sharing.invitation_by_token(&hash).await? {
            open_invitation(&inv, now).map_err(join_refusal)?;
            let cart_name = self.sharing.cart_name(inv.cart).await?.unwrap_or_default();
            return Ok(InvitePreview {
                kind: InviteKind::Invitation,
                cart_name,
                invited_by: inv.invited_by_name,
                role: inv.role,
                message: inv.message,
                email: Some(inv.email),
                expires_at: inv.expires_at,
            });
        }
        let link = self
            .sharing
            .link_by_token(&hash)
            .await?
            .ok_or_else(|| join_refusal(JoinError::NotFound))?;
        match link_view(&link, now).status {
            LinkStatus::Active => {}
            LinkStatus::Expired => return Err(join_refusal(JoinError::Expired).into()),
            LinkStatus::Revoked => return Err(join_refusal(JoinError::Revoked).into()),
            LinkStatus::UsedUp => return Err(join_refusal(JoinError::UsedUp).into()),
        }
        let cart_name = self.sharing.cart_name(link.cart).await?.unwrap_or_default();
        Ok(InvitePreview {
            kind: InviteKind::Link,
            cart_name,
            invited_by: link.created_by_name,
            role: link.role,
            message: String::new(),
            email: None,
            expires_at: link.expires_at,
        })
    }

    /// Joins the cart with a token (an invitation's or a link's). Accepting
    /// again changes nothing and answers the same.
    pub async fn accept(&self, token: &str, who: &Actor) -> Result<AcceptResponse> {
        let hash = join_hash(token)?;
        let now = self.clock.now_ms();
        let (joined, via) = match self
            .sharing
            .accept_invitation(&hash, who.user_id, now, MAX_MEMBERS)
            .await
        {
            Err(JoinError::NotFound) => (
                self.sharing
                    .accept_link(&hash, who.user_id, now, MAX_MEMBERS)
                    .await
                    .map_err(join_refusal)?,
                "share link",
            ),
            other => (other.map_err(join_refusal)?, "invitation"),
        };
        if !joined.already_member {
            self.note_join(&joined, who, via).await;
        }
        Ok(AcceptResponse {
            cart_id: joined.cart,
            role: joined.role,
            already_member: joined.already_member,
        })
    }

    /// Declines an invitation (a link cannot be declined: it is simply not
    /// used). `who` is the signed-in caller, if any.
    pub async fn decline(&self, token: &str, who: Option<&Actor>) -> Result<()> {
        let hash = join_hash(token)?;
        let now = self.clock.now_ms();
        let inv = self
            .sharing
            .decline_invitation(&hash, now)
            .await
            .map_err(join_refusal)?;
        if inv.declined_at == Some(now) {
            // Someone without a session is named by the invited address.
            let by = who.cloned().unwrap_or_else(|| Actor {
                user_id: cartroom_protocol::UserId(uuid::Uuid::nil()),
                name: inv.email.clone(),
            });
            let text = format!("{} declined {}'s invitation", by.name, inv.invited_by_name);
            self.note(inv.cart, &by, "invitation_declined", text, None)
                .await;
        }
        Ok(())
    }

    async fn note_join(&self, joined: &Joined, who: &Actor, via: &str) {
        let inviter = &joined.inviter.1;
        let text = match joined.previous {
            None => format!("{} joined via {inviter}'s {via}", who.name),
            Some(_) => format!(
                "{} became {} via {inviter}'s {via}",
                who.name,
                with_article(joined.role)
            ),
        };
        let member = Some((who.user_id, joined.role));
        self.note(joined.cart, who, "member_joined", text, member)
            .await;
    }

    /// Tells the cart's room about an event of its feed.
    async fn note(
        &self,
        cart: CartId,
        by: &Actor,
        kind: &'static str,
        text: String,
        member: Option<(cartroom_protocol::UserId, MemberRole)>,
    ) {
        let cmd = RoomCmd::Note {
            by: by.clone(),
            kind,
            text,
            member,
        };
        // The change is made; a room that cannot take the note now misses
        // only the feed entry (as with membership changes).
        let _ = self.rooms.send(cart, cmd).await;
    }

    async fn invitation_mail(
        &self,
        cart: CartId,
        invitation: &NewInvitation,
        inviter: &str,
        now: i64,
    ) -> Result<NewMail> {
        let cart_name = self
            .sharing
            .cart_name(cart)
            .await?
            .ok_or_else(Refusal::cart_not_found)?;
        let rendered = templates::invitation(&InvitationMail {
            inviter,
            cart_name: &cart_name,
            role: invitation.role,
            message: &invitation.message,
            expires_at: invitation.expires_at,
        });
        Ok(NewMail {
            purpose: MailPurpose::Invitation,
            ref_id: invitation.id.to_string(),
            recipient: invitation.email.clone(),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            now_ms: now,
        })
    }

    async fn record(&self, cart: CartId, id: InvitationId) -> Result<InvitationRecord> {
        Ok(self
            .sharing
            .invitation(cart, id)
            .await?
            .ok_or_else(no_invitation)?)
    }

    async fn invitation(&self, cart: CartId, id: InvitationId) -> Result<Invitation> {
        let record = self.record(cart, id).await?;
        Ok(invitation_view(&record, self.clock.now_ms()))
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

/// `Ok` when the invitation may still be accepted.
fn open_invitation(inv: &InvitationRecord, now: i64) -> Result<(), JoinError> {
    match status_of(inv, now) {
        InvitationStatus::Pending => Ok(()),
        InvitationStatus::Revoked => Err(JoinError::Revoked),
        InvitationStatus::Expired => Err(JoinError::Expired),
        InvitationStatus::Accepted | InvitationStatus::Declined => Err(JoinError::UsedUp),
    }
}

fn status_of(inv: &InvitationRecord, now: i64) -> InvitationStatus {
    if inv.revoked_at.is_some() {
        InvitationStatus::Revoked
    } else if inv.accepted_at.is_some() {
        InvitationStatus::Accepted
    } else if inv.declined_at.is_some() {
        InvitationStatus::Declined
    } else if now >= inv.expires_at {
        InvitationStatus::Expired
    } else {
        InvitationStatus::Pending
    }
}

fn invitation_view(inv: &InvitationRecord, now: i64) -> Invitation {
    let delivery = match &inv.delivery {
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
    };
    Invitation {
        id: inv.id,
        email: inv.email.clone(),
        message: inv.message.clone(),
        role: inv.role,
        invited_by: inv.invited_by_name.clone(),
        created_at: inv.created_at,
        expires_at: inv.expires_at,
        status: status_of(inv, now),
        accepted_by: inv.accepted_by.as_ref().map(|(user_id, name)| Acceptor {
            user_id: *user_id,
            name: name.clone(),
        }),
        accepted_at: inv.accepted_at,
        declined_at: inv.declined_at,
        revoked_at: inv.revoked_at,
        delivery,
    }
}

fn link_view(link: &LinkRecord, now: i64) -> ShareLink {
    let status = if link.revoked_at.is_some() {
        LinkStatus::Revoked
    } else if now >= link.expires_at {
        LinkStatus::Expired
    } else if link.max_uses.is_some_and(|max| link.uses >= max) {
        LinkStatus::UsedUp
    } else {
        LinkStatus::Active
    };
    ShareLink {
        id: link.id,
        role: link.role,
        created_by: link.created_by_name.clone(),
        created_at: link.created_at,
        expires_at: link.expires_at,
        max_uses: link.max_uses,
        uses: link.uses,
        status,
        revoked_at: link.revoked_at,
    }
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

fn no_invitation() -> Refusal {
    Refusal::new(ErrorCode::NotFound, "no such invitation")
}

fn no_link() -> Refusal {
    Refusal::new(ErrorCode::NotFound, "no such share link")
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

/// 1..=365 days, 14 when absent.
fn expiry_days(days: Option<u32>) -> Result<u32, Refusal> {
    let days = days.unwrap_or(DEFAULT_EXPIRY_DAYS);
    if !(MIN_EXPIRY_DAYS..=MAX_EXPIRY_DAYS).contains(&days) {
        return Err(invalid(format!(
            "expires_in_days is {MIN_EXPIRY_DAYS} to {MAX_EXPIRY_DAYS}"
        )));
    }
    Ok(days)
}

/// An e-mail address as sign-up takes it: 3..=254 bytes with one `@`, not
/// at either end, no spaces or control characters; lower-cased.
pub fn valid_email(email: &str) -> Result<String, Refusal> {
    let email = normalize_email(email);
    let ok = (3..=254).contains(&email.len())
        && email.matches('@').count() == 1
        && !email.starts_with('@')
        && !email.ends_with('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        return Err(invalid("enter a valid e-mail address"));
    }
    Ok(email)
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
            valid_email(" Grandma@Example.com").unwrap(),
            "grandma@example.com"
        );
        assert!(valid_email("grandma").is_err());
        assert!(valid_email("gr andma@example.com").is_err());
        assert_eq!(
            join_hash("nope").unwrap_err().code,
            ErrorCode::InviteNotFound
        );
    }
}
