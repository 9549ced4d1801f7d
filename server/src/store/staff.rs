//! The store's staff (migration `0005_store_staff.sql`): which accounts
//! have a role in a store. The one rule the storage keeps is that a store
//! never loses its last owner: removing one checks it in the same
//! transaction.

use async_trait::async_trait;
use cartroom_protocol::UserId;
use cartroom_protocol::store::{StaffMember, StoreRole};

use super::Result;

/// What removing someone from the staff did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaffRemoval {
    Removed,
    /// They were not on the staff.
    NotStaff,
    /// They are the store's only owner; nothing changed.
    LastOwner,
}

/// Someone's place in a store's staff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaffAccess {
    pub role: StoreRole,
    /// An agent with this right may change a customer's cart.
    pub customer_update: bool,
}

impl StaffAccess {
    /// Whether they may change a customer's cart (take it over): owners
    /// always, agents with the right.
    pub fn may_update_customers(&self) -> bool {
        self.role == StoreRole::Owner || self.customer_update
    }
}

/// Who works for which store.
#[async_trait]
pub trait StoreStaff: Send + Sync {
    /// The user's place in the store's staff; `None` for a shopper.
    async fn store_role(&self, store: &str, user: UserId) -> Result<Option<StaffAccess>>;

    /// The stores the user works for, by store id.
    async fn stores_of(&self, user: UserId) -> Result<Vec<(String, StaffAccess)>>;

    /// The store's staff, owners first, then in the order they were added.
    async fn list_staff(&self, store: &str) -> Result<Vec<StaffMember>>;

    /// Adds the user with `access`; false (and nothing changed) when they
    /// are on the staff already.
    async fn add_staff(
        &self,
        store: &str,
        user: UserId,
        access: StaffAccess,
        added_by: Option<UserId>,
        now_ms: i64,
    ) -> Result<bool>;

    /// Removes the user, unless that leaves the store without an owner.
    async fn remove_staff(&self, store: &str, user: UserId) -> Result<StaffRemoval>;

    /// Whether the store has an owner (the demo store is seeded with one).
    async fn has_owner(&self, store: &str) -> Result<bool>;
}
