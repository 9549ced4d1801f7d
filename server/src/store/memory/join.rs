//! Joining a cart in memory, as the SQLite `join` does, shared by
//! invitations, share links, offers and store shares.

use cartroom_protocol::{CartId, MemberRole, UserId};

use super::State;
use crate::store::sharing::JoinError;

impl State {
    /// The user's name, or empty for an unknown user.
    pub(super) fn name_of(&self, user: UserId) -> String {
        self.users
            .get(&user)
            .map(|u| u.user.name.clone())
            .unwrap_or_default()
    }

    /// The user's role in the cart, if a member.
    pub(super) fn role_in(&self, cart: CartId, user: UserId) -> Option<MemberRole> {
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
