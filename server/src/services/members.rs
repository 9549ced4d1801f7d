//! Members of a cart. Membership lives in the store; every change is then
//! told to the cart's room, so that live connections follow at once and the
//! change becomes an activity event, and the member is told on all their
//! connections (`carts_changed`), so an open list of carts follows.
//! Members' e-mail addresses are shown only to those who manage members.

use std::sync::Arc;

use cartroom_protocol::http::Member;
use cartroom_protocol::{Capability, CartId, ErrorCode, MemberRole, UserId};

use super::accounts::normalize_email;
use super::error::{Result, ServiceError};
use super::live::LiveConnections;
use crate::cart::Actor;
use crate::clock::Clock;
use crate::policy;
use crate::refusal::Refusal;
use crate::room::{RoomCmd, Rooms};
use crate::store::{Accounts, MemberChange, MemberChangeError, Memberships};

/// Members of one cart.
pub const MAX_MEMBERS: usize = 100;

/// Memberships of carts.
pub struct MemberService {
    members: Arc<dyn Memberships>,
    accounts: Arc<dyn Accounts>,
    rooms: Arc<Rooms>,
    clock: Arc<dyn Clock>,
    /// Where a member whose membership changed is told so.
    live: Arc<LiveConnections>,
}

impl MemberService {
    pub fn new(
        members: Arc<dyn Memberships>,
        accounts: Arc<dyn Accounts>,
        rooms: Arc<Rooms>,
        clock: Arc<dyn Clock>,
        live: Arc<LiveConnections>,
    ) -> Self {
        Self {
            members,
            accounts,
            rooms,
            clock,
            live,
        }
    }

    /// The members as a caller with `role` sees them: e-mail addresses
    /// only for those who may manage members (`null` for the others).
    pub async fn list(&self, cart: CartId, role: MemberRole) -> Result<Vec<Member>> {
        let mut members = self.members.list_members(cart).await?;
        if !policy::allows(role, Capability::ManageMembers) {
            for member in &mut members {
                member.email = None;
            }
        }
        Ok(members)
    }

    /// Adds the account with this e-mail under `role`; someone who is already
    /// a member is refused with `already_member` and keeps their role.
    pub async fn add(
        &self,
        cart: CartId,
        by: &Actor,
        email: &str,
        role: MemberRole,
    ) -> Result<Member> {
        let email = normalize_email(email);
        let Some((user, _)) = self.accounts.user_by_email(&email).await? else {
            return Err(Refusal::new(
                ErrorCode::UserNotFound,
                format!("no account with the e-mail {email}"),
            )
            .into());
        };
        // Adding someone who is already here must not change their role
        // behind the admin's back: that is what `set_role` is for.
        if self.members.role_of(cart, user.id).await?.is_some() {
            return Err(Refusal::new(
                ErrorCode::AlreadyMember,
                format!("{} is already a member of this cart", user.name),
            )
            .into());
        }
        self.change(cart, by, user.id, Some(role), true).await?;
        Ok(Member {
            user_id: user.id,
            name: user.name,
            email: user.email,
            role,
        })
    }

    /// Changes the role of an existing member.
    pub async fn set_role(
        &self,
        cart: CartId,
        by: &Actor,
        user: UserId,
        role: MemberRole,
    ) -> Result<Member> {
        self.change(cart, by, user, Some(role), false).await?;
        self.members
            .list_members(cart)
            .await?
            .into_iter()
            .find(|m| m.user_id == user)
            .ok_or_else(|| no_member().into())
    }

    /// Removes a member (or lets one leave).
    pub async fn remove(&self, cart: CartId, by: &Actor, user: UserId) -> Result<()> {
        self.change(cart, by, user, None, false).await
    }

    async fn change(
        &self,
        cart: CartId,
        by: &Actor,
        user: UserId,
        role: Option<MemberRole>,
        add_if_missing: bool,
    ) -> Result<()> {
        let member_name = self.accounts.user_name(user).await?.ok_or_else(no_member)?;
        let was_member = self.members.role_of(cart, user).await?.is_some();
        self.members
            .change_member(MemberChange {
                cart,
                user,
                role,
                add_if_missing,
                max_members: MAX_MEMBERS,
                now_ms: self.clock.now_ms(),
            })
            .await
            .map_err(refusal_of)?;
        let cmd = RoomCmd::MemberChanged {
            user_id: user,
            member_name,
            role,
            added: !was_member,
            by: by.clone(),
        };
        // The change is made; a room that cannot take the note now misses
        // only the feed entry. With many nodes, the change must have
        // reached the cart's owner before the caller hears it is done, so
        // that the member's next op, on whatever node, meets the new role.
        let _ = self.rooms.send(cart, cmd).await;
        self.rooms.barrier(cart, ROLE_CHANGE_WAIT).await;
        self.live.carts_changed(user, cart);
        Ok(())
    }
}

/// The longest a membership change waits for the cart's room to take it.
const ROLE_CHANGE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

fn no_member() -> Refusal {
    Refusal::new(ErrorCode::UserNotFound, "no such member")
}

fn refusal_of(e: MemberChangeError) -> ServiceError {
    let code = match e {
        MemberChangeError::LastAdmin => ErrorCode::LastAdmin,
        MemberChangeError::NotMember => ErrorCode::UserNotFound,
        MemberChangeError::TooMany(_) => ErrorCode::TooMany,
        MemberChangeError::Store(e) => return e.into(),
    };
    Refusal::new(code, e.to_string()).into()
}
