//! The store's staff in memory.

use async_trait::async_trait;
use cartroom_protocol::UserId;
use cartroom_protocol::store::{StaffMember, StoreRole};

use super::MemoryStore;
use crate::store::Result;
use crate::store::staff::{StaffAccess, StaffRemoval, StoreStaff};

/// One person's place in a store's staff.
pub(super) struct StaffRow {
    store: String,
    user: UserId,
    access: StaffAccess,
    added_at: i64,
}

#[async_trait]
impl StoreStaff for MemoryStore {
    async fn store_role(&self, store: &str, user: UserId) -> Result<Option<StaffAccess>> {
        Ok(self
            .state()
            .staff
            .iter()
            .find(|r| r.store == store && r.user == user)
            .map(|r| r.access))
    }

    async fn stores_of(&self, user: UserId) -> Result<Vec<(String, StaffAccess)>> {
        let mut stores: Vec<(String, StaffAccess)> = self
            .state()
            .staff
            .iter()
            .filter(|r| r.user == user)
            .map(|r| (r.store.clone(), r.access))
            .collect();
        stores.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(stores)
    }

    async fn list_staff(&self, store: &str) -> Result<Vec<StaffMember>> {
        let state = self.state();
        let mut staff: Vec<StaffMember> = state
            .staff
            .iter()
            .filter(|r| r.store == store)
            .filter_map(|r| {
                let user = &state.users.get(&r.user)?.user;
                Some(StaffMember {
                    user_id: r.user,
                    email: user.email.clone().unwrap_or_default(),
                    name: user.name.clone(),
                    role: r.access.role,
                    customer_update: r.access.may_update_customers(),
                    added_at: r.added_at,
                })
            })
            .collect();
        staff.sort_by_key(|s| {
            (
                s.role == StoreRole::Agent,
                s.added_at,
                s.user_id.to_string(),
            )
        });
        Ok(staff)
    }

    async fn add_staff(
        &self,
        store: &str,
        user: UserId,
        access: StaffAccess,
        _added_by: Option<UserId>,
        now_ms: i64,
    ) -> Result<bool> {
        let mut state = self.state();
        if state
            .staff
            .iter()
            .any(|r| r.store == store && r.user == user)
        {
            return Ok(false);
        }
        state.staff.push(StaffRow {
            store: store.to_owned(),
            user,
            access,
            added_at: now_ms,
        });
        Ok(true)
    }

    async fn remove_staff(&self, store: &str, user: UserId) -> Result<StaffRemoval> {
        let mut state = self.state();
        let Some(at) = state
            .staff
            .iter()
            .position(|r| r.store == store && r.user == user)
        else {
            return Ok(StaffRemoval::NotStaff);
        };
        let owners = state
            .staff
            .iter()
            .filter(|r| r.store == store && r.access.role == StoreRole::Owner)
            .count();
        if state.staff[at].access.role == StoreRole::Owner && owners <= 1 {
            return Ok(StaffRemoval::LastOwner);
        }
        state.staff.remove(at);
        Ok(StaffRemoval::Removed)
    }

    async fn has_owner(&self, store: &str) -> Result<bool> {
        Ok(self
            .state()
            .staff
            .iter()
            .any(|r| r.store == store && r.access.role == StoreRole::Owner))
    }
}
