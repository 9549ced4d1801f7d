//! The store's staff: who may see and manage the store's orders (and, for
//! owners, who else may). Roles live in the store (`StoreStaff`), so that
//! an owner changes them while the node runs and every node agrees.
//!
//! The demo store is seeded with one owner (`seed_owner`), whose e-mail and
//! password the README names, so that a newcomer can sign in as the shop.

use std::sync::Arc;

use cartroom_protocol::http::User;
use cartroom_protocol::store::{StaffMember, StoreRole};
use cartroom_protocol::{ErrorCode, UserId};

use super::accounts::normalize_email;
use super::error::{Result, ServiceError};
use crate::auth::password::hash_password;
use crate::catalog::CatalogHandle;
use crate::clock::Clock;
use crate::refusal::Refusal;
use crate::store::{Accounts, StaffRemoval, StoreStaff};

/// The demo store's owner, seeded with the demo store.
pub struct SeedOwner<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password: &'a str,
}

/// The store's owners and staff.
pub struct StaffService {
    staff: Arc<dyn StoreStaff>,
    accounts: Arc<dyn Accounts>,
    catalog: CatalogHandle,
    clock: Arc<dyn Clock>,
}

impl StaffService {
    pub fn new(
        staff: Arc<dyn StoreStaff>,
        accounts: Arc<dyn Accounts>,
        catalog: CatalogHandle,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            staff,
            accounts,
            catalog,
            clock,
        }
    }

    /// The id of the store this node serves.
    pub fn store_id(&self) -> String {
        self.catalog.current().store.id.clone()
    }

    /// The user's role in the store; `None` for a shopper.
    pub async fn role_of(&self, user: UserId) -> Result<Option<StoreRole>> {
        Ok(self.staff.store_role(&self.store_id(), user).await?)
    }

    /// Refuses anyone but an owner.
    async fn check_owner(&self, caller: UserId) -> Result<()> {
        match self.role_of(caller).await? {
            Some(StoreRole::Owner) => Ok(()),
            _ => Err(Refusal::new(
                ErrorCode::Forbidden,
                "only the store's owners manage its staff",
            )
            .into()),
        }
    }

    /// The store's staff (owners only).
    pub async fn list(&self, caller: UserId) -> Result<Vec<StaffMember>> {
        self.check_owner(caller).await?;
        Ok(self.staff.list_staff(&self.store_id()).await?)
    }

    /// Adds the account with this e-mail (owners only): `user_not_found`
    /// when no account has it, `already_staff` when it is on the staff.
    pub async fn add(
        &self,
        caller: UserId,
        email: &str,
        role: Option<StoreRole>,
    ) -> Result<StaffMember> {
        self.check_owner(caller).await?;
        let email = normalize_email(email);
        let Some((user, _)) = self.accounts.user_by_email(&email).await? else {
            return Err(Refusal::new(
                ErrorCode::UserNotFound,
                format!("no account with the e-mail {email}; ask them to sign up first"),
            )
            .into());
        };
        let role = role.unwrap_or(StoreRole::Staff);
        let now = self.clock.now_ms();
        let store = self.store_id();
        if !self
            .staff
            .add_staff(&store, user.id, role, Some(caller), now)
            .await?
        {
            return Err(Refusal::new(
                ErrorCode::AlreadyStaff,
                format!("{email} is on the store's staff already"),
            )
            .into());
        }
        Ok(StaffMember {
            user_id: user.id,
            email,
            name: user.name,
            role,
            added_at: now,
        })
    }

    /// Removes someone from the staff (owners only; an owner may remove
    /// themself while another owner remains).
    pub async fn remove(&self, caller: UserId, user: UserId) -> Result<()> {
        self.check_owner(caller).await?;
        match self.staff.remove_staff(&self.store_id(), user).await? {
            StaffRemoval::Removed => Ok(()),
            StaffRemoval::NotStaff => Err(Refusal::new(
                ErrorCode::NotFound,
                "this person is not on the store's staff",
            )
            .into()),
            StaffRemoval::LastOwner => Err(Refusal::new(
                ErrorCode::LastOwner,
                "the store needs an owner: add another owner first",
            )
            .into()),
        }
    }

    /// Gives the store its first owner unless it has one: the account with
    /// `owner.email` (made with `owner.password` when there is none). True
    /// when an owner was added.
    pub async fn seed_owner(&self, owner: SeedOwner<'_>) -> Result<bool> {
        let store = self.store_id();
        if self.staff.has_owner(&store).await? {
            return Ok(false);
        }
        let email = normalize_email(owner.email);
        let now = self.clock.now_ms();
        let user = match self.accounts.user_by_email(&email).await? {
            Some((user, _)) => user,
            None => {
                let hash = hash_password(owner.password.to_owned())
                    .await
                    .map_err(|e| {
                        ServiceError::from(Refusal::new(ErrorCode::Internal, e.to_string()))
                    })?;
                let user = User {
                    id: UserId::new_random(),
                    email: Some(email.clone()),
                    name: owner.name.to_owned(),
                    guest: false,
                };
                if self.accounts.insert_user(&user, Some(&hash), now).await? {
                    user
                } else {
                    // Another start made it meanwhile.
                    let (user, _) =
                        self.accounts.user_by_email(&email).await?.ok_or_else(|| {
                            ServiceError::from(Refusal::new(
                                ErrorCode::Internal,
                                "the owner vanished",
                            ))
                        })?;
                    user
                }
            }
        };
        Ok(self
            .staff
            .add_staff(&store, user.id, StoreRole::Owner, None, now)
            .await?)
    }
}
