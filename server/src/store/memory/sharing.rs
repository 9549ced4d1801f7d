//! Sharing in memory: invitations and share links, under the store's one
//! lock, so that each call is as atomic as its SQLite transaction (a
//! single-use link joins exactly one member). Password resets are in
//! [`super::resets`], the outbox in [`super::outbox`], joining in
//! [`super::join`].

use async_trait::async_trait;
use cartroom_protocol::sharing::{InvitationId, LinkId};
use cartroom_protocol::{CartId, UserId};

use super::{MemoryStore, State};
use crate::store::Result;
use crate::store::sharing::{
    InvitationRecord, JoinError, Joined, LinkRecord, MailPurpose, NewInvitation, NewLink, NewMail,
    Sharing,
};

/// Everything sharing keeps.
#[derive(Default)]
pub(super) struct SharingState {
    invitations: Vec<InvitationRow>,
    links: Vec<LinkRow>,
    /// (link, user) pairs that joined.
    link_uses: Vec<(LinkId, UserId)>,
}

struct InvitationRow {
    new: NewInvitation,
    token_hash: Option<String>,
    accepted_by: Option<UserId>,
    accepted_at: Option<i64>,
    declined_at: Option<i64>,
    revoked_at: Option<i64>,
}

struct LinkRow {
    new: NewLink,
    uses: u32,
    revoked_at: Option<i64>,
}

impl State {
    fn invitation_record(&self, row: &InvitationRow) -> InvitationRecord {
        let id = row.new.id.to_string();
        let delivery = self.latest_delivery(MailPurpose::Invitation, &id);
        InvitationRecord {
            id: row.new.id,
            cart: row.new.cart,
            email: row.new.email.clone(),
            message: row.new.message.clone(),
            role: row.new.role,
            invited_by: row.new.invited_by,
            invited_by_name: self.name_of(row.new.invited_by),
            created_at: row.new.now_ms,
            expires_at: row.new.expires_at,
            accepted_by: row.accepted_by.map(|u| (u, self.name_of(u))),
            accepted_at: row.accepted_at,
            declined_at: row.declined_at,
            revoked_at: row.revoked_at,
            delivery,
        }
    }

    fn link_record(&self, row: &LinkRow) -> LinkRecord {
        LinkRecord {
            id: row.new.id,
            cart: row.new.cart,
            role: row.new.role,
            created_by: row.new.created_by,
            created_by_name: self.name_of(row.new.created_by),
            created_at: row.new.now_ms,
            expires_at: row.new.expires_at,
            max_uses: row.new.max_uses,
            uses: row.uses,
            revoked_at: row.revoked_at,
        }
    }
}

impl State {
    /// Stores the hash of an invitation e-mail's token while the
    /// invitation is open; false otherwise (the outbox's `mint_mail_token`).
    pub(super) fn mint_invitation_token(
        &mut self,
        id: &str,
        token_hash: &str,
        now_ms: i64,
    ) -> bool {
        self.sharing
            .invitations
            .iter_mut()
            .find(|r| r.new.id.to_string() == id)
            .filter(|r| refuse_unless_open(r, now_ms).is_ok())
            .map(|r| r.token_hash = Some(token_hash.to_owned()))
            .is_some()
    }
}

fn refuse_unless_open(row: &InvitationRow, now_ms: i64) -> Result<(), JoinError> {
    if row.revoked_at.is_some() {
        return Err(JoinError::Revoked);
    }
    if row.accepted_by.is_some() || row.declined_at.is_some() {
        return Err(JoinError::UsedUp);
    }
    if now_ms >= row.new.expires_at {
        return Err(JoinError::Expired);
    }
    Ok(())
}

#[async_trait]
impl Sharing for MemoryStore {
    async fn cart_name(&self, cart: CartId) -> Result<Option<String>> {
        Ok(self.state().carts.get(&cart).map(|c| c.name.clone()))
    }

    async fn create_invitation(&self, inv: &NewInvitation, mail: &NewMail) -> Result<()> {
        let mut state = self.state();
        state.sharing.invitations.push(InvitationRow {
            new: inv.clone(),
            token_hash: None,
            accepted_by: None,
            accepted_at: None,
            declined_at: None,
            revoked_at: None,
        });
        state.queue_mail(mail);
        Ok(())
    }

    async fn invitations(&self, cart: CartId) -> Result<Vec<InvitationRecord>> {
        let state = self.state();
        let mut found: Vec<InvitationRecord> = state
            .sharing
            .invitations
            .iter()
            .filter(|r| r.new.cart == cart)
            .map(|r| state.invitation_record(r))
            .collect();
        found.sort_by_key(|r| std::cmp::Reverse(r.created_at));
        Ok(found)
    }

    async fn invitation(&self, cart: CartId, id: InvitationId) -> Result<Option<InvitationRecord>> {
        let state = self.state();
        Ok(state
            .sharing
            .invitations
            .iter()
            .find(|r| r.new.cart == cart && r.new.id == id)
            .map(|r| state.invitation_record(r)))
    }

    async fn requeue_invitation(
        &self,
        cart: CartId,
        id: InvitationId,
        mail: &NewMail,
    ) -> Result<bool> {
        let mut state = self.state();
        let found = state
            .sharing
            .invitations
            .iter()
            .any(|r| r.new.cart == cart && r.new.id == id);
        if found {
            state.cancel_unsent(MailPurpose::Invitation, &mail.ref_id);
            state.queue_mail(mail);
        }
        Ok(found)
    }

    async fn revoke_invitation(&self, cart: CartId, id: InvitationId, now_ms: i64) -> Result<bool> {
        let mut state = self.state();
        let Some(row) = state
            .sharing
            .invitations
            .iter_mut()
            .find(|r| r.new.cart == cart && r.new.id == id)
        else {
            return Ok(false);
        };
        row.revoked_at.get_or_insert(now_ms);
        state.cancel_unsent(MailPurpose::Invitation, &id.to_string());
        Ok(true)
    }

    async fn invitation_by_token(&self, token_hash: &str) -> Result<Option<InvitationRecord>> {
        let state = self.state();
        Ok(state
            .sharing
            .invitations
            .iter()
            .find(|r| r.token_hash.as_deref() == Some(token_hash))
            .map(|r| state.invitation_record(r)))
    }

    async fn accept_invitation(
        &self,
        token_hash: &str,
        user: UserId,
        now_ms: i64,
        max_members: usize,
    ) -> Result<Joined, JoinError> {
        let mut state = self.state();
        let Some(i) = state
            .sharing
            .invitations
            .iter()
            .position(|r| r.token_hash.as_deref() == Some(token_hash))
        else {
            return Err(JoinError::NotFound);
        };
        let (cart, invited_role, inviter) = {
            let row = &state.sharing.invitations[i];
            (row.new.cart, row.new.role, row.new.invited_by)
        };
        let inviter = (inviter, state.name_of(inviter));
        if state.sharing.invitations[i].accepted_by == Some(user) {
            let role = state.role_in(cart, user).ok_or(JoinError::UsedUp)?;
            return Ok(Joined {
                cart,
                role,
                previous: Some(role),
                already_member: true,
                inviter,
            });
        }
        refuse_unless_open(&state.sharing.invitations[i], now_ms)?;
        let (previous, role) = state.join(cart, user, invited_role, max_members)?;
        let row = &mut state.sharing.invitations[i];
        row.accepted_by = Some(user);
        row.accepted_at = Some(now_ms);
        Ok(Joined {
            cart,
            role,
            already_member: previous.is_some_and(|had| had >= invited_role),
            previous,
            inviter,
        })
    }

    async fn decline_invitation(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<InvitationRecord, JoinError> {
        let mut state = self.state();
        let Some(i) = state
            .sharing
            .invitations
            .iter()
            .position(|r| r.token_hash.as_deref() == Some(token_hash))
        else {
            return Err(JoinError::NotFound);
        };
        let row = &state.sharing.invitations[i];
        if !(row.declined_at.is_some() && row.revoked_at.is_none()) {
            refuse_unless_open(row, now_ms)?;
            state.sharing.invitations[i].declined_at = Some(now_ms);
        }
        Ok(state.invitation_record(&state.sharing.invitations[i]))
    }

    async fn create_link(&self, link: &NewLink) -> Result<()> {
        self.state().sharing.links.push(LinkRow {
            new: link.clone(),
            uses: 0,
            revoked_at: None,
        });
        Ok(())
    }

    async fn links(&self, cart: CartId) -> Result<Vec<LinkRecord>> {
        let state = self.state();
        let mut found: Vec<LinkRecord> = state
            .sharing
            .links
            .iter()
            .filter(|r| r.new.cart == cart)
            .map(|r| state.link_record(r))
            .collect();
        found.sort_by_key(|r| std::cmp::Reverse(r.created_at));
        Ok(found)
    }

    async fn link(&self, cart: CartId, id: LinkId) -> Result<Option<LinkRecord>> {
        let state = self.state();
        Ok(state
            .sharing
            .links
            .iter()
            .find(|r| r.new.cart == cart && r.new.id == id)
            .map(|r| state.link_record(r)))
    }

    async fn revoke_link(&self, cart: CartId, id: LinkId, now_ms: i64) -> Result<bool> {
        let mut state = self.state();
        let Some(row) = state
            .sharing
            .links
            .iter_mut()
            .find(|r| r.new.cart == cart && r.new.id == id)
        else {
            return Ok(false);
        };
        row.revoked_at.get_or_insert(now_ms);
        Ok(true)
    }

    async fn link_by_token(&self, token_hash: &str) -> Result<Option<LinkRecord>> {
        let state = self.state();
        Ok(state
            .sharing
            .links
            .iter()
            .find(|r| r.new.token_hash == token_hash)
            .map(|r| state.link_record(r)))
    }

    async fn accept_link(
        &self,
        token_hash: &str,
        user: UserId,
        now_ms: i64,
        max_members: usize,
    ) -> Result<Joined, JoinError> {
        let mut state = self.state();
        let Some(i) = state
            .sharing
            .links
            .iter()
            .position(|r| r.new.token_hash == token_hash)
        else {
            return Err(JoinError::NotFound);
        };
        let link = state.link_record(&state.sharing.links[i]);
        let inviter = (link.created_by, link.created_by_name.clone());
        let current = state.role_in(link.cart, user);
        let already = |role| Joined {
            cart: link.cart,
            role,
            previous: Some(role),
            already_member: true,
            inviter: inviter.clone(),
        };
        if state.sharing.link_uses.contains(&(link.id, user)) {
            return current.map(already).ok_or(JoinError::UsedUp);
        }
        if link.revoked_at.is_some() {
            return Err(JoinError::Revoked);
        }
        if now_ms >= link.expires_at {
            return Err(JoinError::Expired);
        }
        if let Some(had) = current.filter(|had| *had >= link.role) {
            return Ok(already(had));
        }
        if link.max_uses.is_some_and(|max| link.uses >= max) {
            return Err(JoinError::UsedUp);
        }
        let (previous, role) = state.join(link.cart, user, link.role, max_members)?;
        state.sharing.link_uses.push((link.id, user));
        state.sharing.links[i].uses += 1;
        Ok(Joined {
            cart: link.cart,
            role,
            previous,
            already_member: false,
            inviter,
        })
    }
}

#[cfg(test)]
mod tests;
