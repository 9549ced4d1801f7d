//! Taking up a token: what it invites to, joining with it (an
//! invitation's or a link's), declining an invitation.

use cartroom_protocol::sharing::{AcceptResponse, InviteKind, InvitePreview, LinkStatus};

use super::super::error::Result;
use super::super::members::MAX_MEMBERS;
use super::invitations::open_invitation;
use super::links::link_view;
use super::{SharingService, join_hash, join_refusal};
use crate::cart::Actor;
use crate::policy::with_article;
use crate::store::sharing::{JoinError, Joined};

impl SharingService {
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
        // An open is counted for the store's analytics; losing one is
        // better than refusing the page.
        if let Err(error) = self.opens.record_link_open(link.id, now).await {
            tracing::warn!(%error, "a share link's open was not counted");
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
            self.feed
                .note(inv.cart, &by, "invitation_declined", text)
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
        let member = (who.user_id, joined.role);
        self.feed.joined(joined.cart, who, text, member).await;
    }
}
