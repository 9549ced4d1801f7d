//! Invitations by e-mail: sent with their e-mail in one transaction,
//! listed with their status, resent with a new link, revoked.

use cartroom_protocol::sharing::{
    Acceptor, Invitation, InvitationId, InvitationStatus, InviteRequest, MAX_INVITE_MESSAGE_CHARS,
};
use cartroom_protocol::{CartId, ErrorCode};

use super::super::error::Result;
use super::{
    DAY_MS, MAX_INVITATIONS_PER_CART, SharingService, delivery_view, expiry_days, join_refusal,
    shared_role,
};
use crate::cart::Actor;
use crate::mail::templates::{self, InvitationMail};
use crate::policy::with_article;
use crate::refusal::Refusal;
use crate::services::accounts::valid_email;
use crate::store::sharing::{InvitationRecord, JoinError, MailPurpose, NewInvitation, NewMail};
use crate::text;

impl SharingService {
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
        self.feed.note(cart, by, "invitation_sent", text).await;
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
        self.feed.note(cart, by, "invitation_resent", text).await;
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
            self.feed.note(cart, by, "invitation_revoked", text).await;
        }
        self.invitation(cart, id).await
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

/// `Ok` when the invitation may still be accepted.
pub(super) fn open_invitation(inv: &InvitationRecord, now: i64) -> Result<(), JoinError> {
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
        delivery: delivery_view(inv.delivery.as_ref()),
    }
}

fn no_invitation() -> Refusal {
    Refusal::new(ErrorCode::NotFound, "no such invitation")
}
