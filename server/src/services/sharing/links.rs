//! Share links: made with a role, an expiry and an optional use limit;
//! their token is shown once, in the answer that makes them.

use cartroom_protocol::sharing::{
    CreatedLink, LinkId, LinkRequest, LinkStatus, MAX_LINK_USES, ShareLink,
};
use cartroom_protocol::{CartId, ErrorCode};

use super::super::error::Result;
use super::{DAY_MS, MAX_LINKS_PER_CART, SharingService, expiry_days, invalid, shared_role};
use crate::auth::purpose::{Purpose, new_token, purpose_hash};
use crate::cart::Actor;
use crate::mail::templates::{self, JOIN_PATH};
use crate::refusal::Refusal;
use crate::store::sharing::{LinkRecord, NewLink};

impl SharingService {
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
        self.feed.note(cart, by, "link_created", text).await;
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
            self.feed.note(cart, by, "link_revoked", text).await;
        }
        let record = self.sharing.link(cart, id).await?.ok_or_else(no_link)?;
        Ok(link_view(&record, now))
    }
}

pub(super) fn link_view(link: &LinkRecord, now: i64) -> ShareLink {
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

fn no_link() -> Refusal {
    Refusal::new(ErrorCode::NotFound, "no such share link")
}
