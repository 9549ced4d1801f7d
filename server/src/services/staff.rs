//! Each store's staff: who may see and manage the store's orders and answer
//! its customers (and, for owners, who else may). Roles live in the store
//! (`StoreStaff`), so that an owner changes them while the node runs and
//! every node agrees.
//!
//! The demo stores are seeded with an owner and an agent each
//! (`seed_staff`), whose e-mails and password the README names, so that a
//! newcomer can sign in as the shop.

use std::sync::Arc;

use cartroom_protocol::http::User;
use cartroom_protocol::store::{StaffMember, StoreRole};
use cartroom_protocol::{ErrorCode, UserId};

use super::accounts::normalize_email;
use super::error::{Result, ServiceError};
use crate::auth::password::hash_password;
use crate::clock::Clock;
use crate::refusal::Refusal;
use crate::store::{Accounts, StaffAccess, StaffRemoval, StoreStaff};

/// Someone seeded onto a demo store's staff.
pub struct SeedStaff<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password: &'a str,
    pub access: StaffAccess,
}

/// The stores' owners and agents.
pub struct StaffService {
    staff: Arc<dyn StoreStaff>,
    accounts: Arc<dyn Accounts>,
    clock: Arc<dyn Clock>,
}

impl StaffService {
    pub fn new(
        staff: Arc<dyn StoreStaff>,
        accounts: Arc<dyn Accounts>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            staff,
            accounts,
            clock,
        }
    }

    /// The user's place in the store's staff; `None` for a shopper.
    pub async fn role_of(&self, store: &str, user: UserId) -> Result<Option<StaffAccess>> {
        Ok(self.staff.store_role(store, user).await?)
    }

    /// Refuses anyone but an owner.
    async fn check_owner(&self, store: &str, caller: UserId) -> Result<()> {
        match self.role_of(store, caller).await?.map(|a| a.role) {
            Some(StoreRole::Owner) => Ok(()),
            _ => Err(Refusal::new(
                ErrorCode::Forbidden,
                "only the store's owners manage its staff",
            )
            .into()),
        }
    }

    /// The store's staff (owners only).
    pub async fn list(&self, store: &str, caller: UserId) -> Result<Vec<StaffMember>> {
        self.check_owner(store, caller).await?;
        Ok(self.staff.list_staff(store).await?)
    }

    /// Adds the account with this e-mail (owners only): `user_not_found`
    /// when no account has it, `already_staff` when it is on the staff.
    pub async fn add(
        &self,
        store: &str,
        caller: UserId,
        email: &str,
        access: StaffAccess,
    ) -> Result<StaffMember> {
        self.check_owner(store, caller).await?;
        let email = normalize_email(email);
        let Some((user, _)) = self.accounts.user_by_email(&email).await? else {
            return Err(Refusal::new(
                ErrorCode::UserNotFound,
                format!("no account with the e-mail {email}; ask them to sign up first"),
            )
            .into());
        };
        let now = self.clock.now_ms();
        if !self
            .staff
            .add_staff(store, user.id, access, Some(caller), now)
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
            role: access.role,
            customer_update: access.may_update_customers(),
            added_at: now,
        })
    }

    /// Removes someone from the staff (owners only; an owner may remove
    /// themself while another owner remains).
    pub async fn remove(&self, store: &str, caller: UserId, user: UserId) -> Result<()> {
        self.check_owner(store, caller).await?;
        match self.staff.remove_staff(store, user).await? {
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

    /// Puts `seed` on the store's staff, making its account (with
    /// `seed.password`) when there is none; true when added. An owner is
    /// seeded only while the store has none.
    pub async fn seed_staff(&self, store: &str, seed: SeedStaff<'_>) -> Result<bool> {
        if seed.access.role == StoreRole::Owner && self.staff.has_owner(store).await? {
            return Ok(false);
        }
        let email = normalize_email(seed.email);
        let now = self.clock.now_ms();
        let user = match self.accounts.user_by_email(&email).await? {
            Some((user, _)) => user,
            None => {
                let hash = hash_password(seed.password.to_owned()).await.map_err(|e| {
                    ServiceError::from(Refusal::new(ErrorCode::Internal, e.to_string()))
                })?;
                let user = User {
                    id: UserId::new_random(),
                    email: Some(email.clone()),
                    name: seed.name.to_owned(),
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
                                "the seeded account vanished",
                            ))
                        })?;
                    user
                }
            }
        };
        Ok(self
            .staff
            .add_staff(store, user.id, seed.access, None, now)
            .await?)
    }
}
