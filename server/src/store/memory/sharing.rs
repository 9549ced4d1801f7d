//! Sharing in memory: invitations and share links, under the store's one
//! lock, so that each call is as atomic as its SQLite transaction (a
//! single-use link joins exactly one member). Password resets are in
//! [`super::resets`], the outbox in [`super::outbox`].

use async_trait::async_trait;
use cartroom_protocol::sharing::{InvitationId, LinkId};
use cartroom_protocol::{CartId, MemberRole, UserId};

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
    pub(super) fn name_of(&self, user: UserId) -> String {
        self.users
            .get(&user)
            .map(|u| u.user.name.clone())
            .unwrap_or_default()
    }

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

    fn role_in(&self, cart: CartId, user: UserId) -> Option<MemberRole> {
        self.members
            .get(&cart)?
            .iter()
            .find(|(u, _)| *u == user)
            .map(|(_, r)| *r)
    }

    /// As the SQLite `join`: (role before, role now); never lowers a role.
    pub(super) fn join(
        &mut self,
        cart: CartId,
        user: UserId,
        role: MemberRole,
        max_members: usize,
    ) -> Result<(Option<MemberRole>, MemberRole), JoinError> {
        let members = self.members.entry(cart).or_default();
        let full = members.len() >= max_members;
        match members.iter_mut().find(|(u, _)| *u == user) {
            None if full => Err(JoinError::TooMany(max_members)),
            None => {
                members.push((user, role));
                Ok((None, role))
            }
            Some((_, had)) if *had < role => {
                let before = *had;
                *had = role;
                Ok((Some(before), role))
            }
            Some((_, had)) => Ok((Some(*had), *had)),
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
mod tests {
    use cartroom_protocol::http::User;
    use cartroom_protocol::sharing::DeliveryStatus;

    use super::*;
    use crate::auth::purpose::{Purpose, new_token, purpose_hash};
    use crate::store::sharing::Outbox;
    use crate::store::{Accounts, Carts, NewCart};

    async fn user(store: &MemoryStore, name: &str) -> UserId {
        let user = User {
            id: UserId::new_random(),
            email: Some(format!("{name}@example.com")),
            name: name.into(),
            guest: false,
        };
        store.insert_user(&user, Some("hash"), 0).await.unwrap();
        user.id
    }

    async fn cart(store: &MemoryStore, admin: UserId) -> CartId {
        let id = CartId::new_random();
        store
            .create_cart(NewCart {
                id,
                store_id: "demo",
                name: "BBQ",
                creator: admin,
                snapshot: &[],
                now_ms: 0,
            })
            .await
            .unwrap();
        id
    }

    #[tokio::test]
    async fn a_single_use_link_joins_one_member_and_never_lowers_a_role() {
        let store = MemoryStore::new();
        let ana = user(&store, "ana").await;
        let (ben, kim) = (user(&store, "ben").await, user(&store, "kim").await);
        let cart = cart(&store, ana).await;
        let token = new_token();
        let hash = purpose_hash(Purpose::Join, &token);
        store
            .create_link(&NewLink {
                id: LinkId::new_random(),
                cart,
                role: MemberRole::Editor,
                created_by: ana,
                now_ms: 0,
                expires_at: 1000,
                token_hash: hash.clone(),
                max_uses: Some(1),
            })
            .await
            .unwrap();
        // The admin opening her own link takes no use and stays admin.
        let own = store.accept_link(&hash, ana, 1, 100).await.unwrap();
        assert!(own.already_member);
        assert_eq!(own.role, MemberRole::Admin);
        let joined = store.accept_link(&hash, ben, 1, 100).await.unwrap();
        assert_eq!((joined.previous, joined.role), (None, MemberRole::Editor));
        assert!(!joined.already_member);
        // Ben again: the same answer; Kim: no use left.
        assert!(
            store
                .accept_link(&hash, ben, 2, 100)
                .await
                .unwrap()
                .already_member
        );
        assert!(matches!(
            store.accept_link(&hash, kim, 2, 100).await,
            Err(JoinError::UsedUp)
        ));
        assert_eq!(store.links(cart).await.unwrap()[0].uses, 1);
    }

    #[tokio::test]
    async fn an_invitation_mail_mints_its_token_only_while_it_is_open() {
        let store = MemoryStore::new();
        let ana = user(&store, "ana").await;
        let cart = cart(&store, ana).await;
        let id = InvitationId::new_random();
        let mail = NewMail {
            purpose: MailPurpose::Invitation,
            ref_id: id.to_string(),
            recipient: "grandma@example.com".into(),
            subject: "s".into(),
            text: "t".into(),
            html: "h".into(),
            now_ms: 0,
        };
        let inv = NewInvitation {
            id,
            cart,
            email: "grandma@example.com".into(),
            message: String::new(),
            role: MemberRole::Viewer,
            invited_by: ana,
            now_ms: 0,
            expires_at: 100,
        };
        store.create_invitation(&inv, &mail).await.unwrap();
        let due = store.due_mail(0, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert!(!store.mint_mail_token(&due[0], "h1", 100).await.unwrap());
        assert!(store.mint_mail_token(&due[0], "h1", 99).await.unwrap());
        store.revoke_invitation(cart, id, 50).await.unwrap();
        assert!(!store.mint_mail_token(&due[0], "h2", 60).await.unwrap());
        let record = store.invitation(cart, id).await.unwrap().unwrap();
        assert_eq!(record.delivery.unwrap().status, DeliveryStatus::Cancelled);
        assert!(matches!(
            store.accept_invitation("h1", ana, 60, 100).await,
            Err(JoinError::Revoked)
        ));
    }
}
