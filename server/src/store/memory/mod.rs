//! Every store trait in memory: the double that room and service tests run
//! on, with no disk and no SQL. It keeps the same rules as the database (one
//! admin per cart, unique e-mails, `(cart, seq)` fencing), and its commit
//! queue can be held, released and made to fail ([`changelog`]) so that
//! tests decide when a change becomes durable.

mod changelog;
mod join;
mod offers;
mod orders;
mod outbox;
mod resets;
mod sharing;
mod staff;
mod store_shares;
mod support;
mod totp;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use cartroom_protocol::http::{Member, StoreInfo, User};
use cartroom_protocol::{ActivityEvent, CartId, MemberRole, OpId, UserId};

pub use changelog::CommitGate;

use super::{
    Accounts, CartListing, Carts, CatalogStore, Health, MemberChange, MemberChangeError,
    Memberships, NewCart, Result, Sessions,
};
use crate::catalog::{Catalog, Listing};

/// The whole store in memory.
#[derive(Default)]
pub struct MemoryStore {
    /// Locked only for plain reads and writes; nothing awaits under it.
    state: Mutex<State>,
    gate: CommitGate,
}

#[derive(Default)]
struct State {
    users: HashMap<UserId, UserRow>,
    sessions: HashMap<String, (UserId, i64)>,
    carts: HashMap<CartId, CartRow>,
    /// Per cart, in the order members joined.
    members: HashMap<CartId, Vec<(UserId, MemberRole)>>,
    /// Stores by id, with their listings.
    catalogs: BTreeMap<String, (StoreInfo, Vec<Listing>)>,
    logs: HashMap<CartId, CartLog>,
    /// Invitations and links.
    sharing: sharing::SharingState,
    /// Password resets.
    resets: Vec<resets::ResetRow>,
    /// E-mails waiting for (or done by) the mail worker.
    outbox: Vec<outbox::MailRow>,
    /// Carts the store's staff sent to customers.
    offers: Vec<offers::OfferRow>,
    /// Carts shoppers shared with the store.
    store_shares: store_shares::StoreSharesState,
    /// Orders and the store's checkout settings.
    orders: orders::OrdersState,
    /// The store's staff.
    staff: Vec<staff::StaffRow>,
    /// Two-factor enrolments.
    totp: HashMap<UserId, totp::TotpRow>,
    /// Customers, conversations and their messages.
    support: support::SupportState,
}

struct UserRow {
    user: User,
    password_hash: Option<String>,
}

struct CartRow {
    store_id: String,
    name: String,
    created_by: UserId,
    updated_at: i64,
    subtotal: i64,
    line_count: i64,
    currency: String,
    /// When the cart locks by itself (`Deadlines`).
    lock_deadline: Option<i64>,
}

/// One cart's durable document and history.
struct CartLog {
    /// The base of each epoch, oldest first; the last is the current one.
    epochs: Vec<EpochRow>,
    /// Every change by sequence number; never trimmed.
    changes: BTreeMap<i64, StoredChange>,
    /// Activity events that are not changes.
    activity: Vec<ActivityEvent>,
}

/// An epoch and its base.
struct EpochRow {
    epoch: i64,
    /// The epoch's changes come after this one.
    start_seq: i64,
    /// The base covers every change up to this one.
    base_seq: i64,
    started_at: i64,
    bytes: Vec<u8>,
}

/// A change with what is recorded with it.
struct StoredChange {
    bytes: Vec<u8>,
    user_id: UserId,
    op_id: OpId,
    activity: ActivityEvent,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The commit queue, for tests that decide when writes become durable.
    pub fn gate(&self) -> &CommitGate {
        &self.gate
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Accounts for MemoryStore {
    async fn insert_user(&self, user: &User, hash: Option<&str>, _now_ms: i64) -> Result<bool> {
        let mut state = self.state();
        let taken =
            user.email.is_some() && state.users.values().any(|u| u.user.email == user.email);
        if taken || state.users.contains_key(&user.id) {
            return Ok(false);
        }
        state.users.insert(
            user.id,
            UserRow {
                user: user.clone(),
                password_hash: hash.map(str::to_owned),
            },
        );
        Ok(true)
    }

    async fn upgrade_guest(&self, id: UserId, email: &str, name: &str, hash: &str) -> Result<bool> {
        let mut state = self.state();
        if state
            .users
            .values()
            .any(|u| u.user.email.as_deref() == Some(email))
        {
            return Ok(false);
        }
        let Some(row) = state.users.get_mut(&id).filter(|r| r.user.guest) else {
            return Ok(false);
        };
        row.user.email = Some(email.to_owned());
        row.user.name = name.to_owned();
        row.user.guest = false;
        row.password_hash = Some(hash.to_owned());
        Ok(true)
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<(User, Option<String>)>> {
        Ok(self
            .state()
            .users
            .values()
            .find(|u| u.user.email.as_deref() == Some(email))
            .map(|u| (u.user.clone(), u.password_hash.clone())))
    }

    async fn user_name(&self, id: UserId) -> Result<Option<String>> {
        Ok(self.state().users.get(&id).map(|u| u.user.name.clone()))
    }
}

#[async_trait]
impl Sessions for MemoryStore {
    async fn insert_session(
        &self,
        token_hash: &str,
        user: UserId,
        _now_ms: i64,
        expires_at: i64,
    ) -> Result<()> {
        self.state()
            .sessions
            .insert(token_hash.to_owned(), (user, expires_at));
        Ok(())
    }

    async fn session_user(&self, token_hash: &str, now_ms: i64) -> Result<Option<User>> {
        let state = self.state();
        Ok(state
            .sessions
            .get(token_hash)
            .filter(|(_, expires_at)| *expires_at > now_ms)
            .and_then(|(user, _)| state.users.get(user))
            .map(|u| u.user.clone()))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.state().sessions.remove(token_hash);
        Ok(())
    }

    async fn delete_expired_sessions(&self, now_ms: i64) -> Result<u64> {
        let mut state = self.state();
        let before = state.sessions.len();
        state
            .sessions
            .retain(|_, (_, expires_at)| *expires_at > now_ms);
        Ok((before - state.sessions.len()) as u64)
    }
}

#[async_trait]
impl Memberships for MemoryStore {
    async fn role_of(&self, cart: CartId, user: UserId) -> Result<Option<MemberRole>> {
        Ok(self
            .state()
            .members
            .get(&cart)
            .and_then(|m| m.iter().find(|(u, _)| *u == user))
            .map(|(_, role)| *role))
    }

    async fn list_members(&self, cart: CartId) -> Result<Vec<Member>> {
        let state = self.state();
        let members = state
            .members
            .get(&cart)
            .map(Vec::as_slice)
            .unwrap_or_default();
        Ok(members
            .iter()
            .filter_map(|(id, role)| {
                let user = &state.users.get(id)?.user;
                Some(Member {
                    user_id: *id,
                    name: user.name.clone(),
                    email: user.email.clone(),
                    role: *role,
                })
            })
            .collect())
    }

    async fn change_member(&self, change: MemberChange) -> Result<(), MemberChangeError> {
        let mut state = self.state();
        let members = state.members.entry(change.cart).or_default();
        let current = members.iter().position(|(u, _)| *u == change.user);
        match (current, change.add_if_missing) {
            (None, false) => return Err(MemberChangeError::NotMember),
            (None, true) if members.len() >= change.max_members => {
                return Err(MemberChangeError::TooMany(change.max_members));
            }
            _ => {}
        }
        let was_admin = current.is_some_and(|i| members[i].1 == MemberRole::Admin);
        let admins = members
            .iter()
            .filter(|(_, r)| *r == MemberRole::Admin)
            .count();
        if was_admin && change.role != Some(MemberRole::Admin) && admins <= 1 {
            return Err(MemberChangeError::LastAdmin);
        }
        match (current, change.role) {
            (Some(i), Some(role)) => members[i].1 = role,
            (None, Some(role)) => members.push((change.user, role)),
            (Some(i), None) => {
                members.remove(i);
            }
            (None, None) => {}
        }
        Ok(())
    }
}

#[async_trait]
impl Carts for MemoryStore {
    async fn create_cart(&self, cart: NewCart<'_>) -> Result<()> {
        let mut state = self.state();
        let currency = state
            .catalogs
            .get(cart.store_id)
            .map(|(store, _)| store.currency.clone())
            .unwrap_or_default();
        state.carts.insert(
            cart.id,
            CartRow {
                store_id: cart.store_id.to_owned(),
                name: cart.name.to_owned(),
                created_by: cart.creator,
                updated_at: cart.now_ms,
                subtotal: 0,
                line_count: 0,
                currency,
                lock_deadline: None,
            },
        );
        state
            .members
            .insert(cart.id, vec![(cart.creator, MemberRole::Admin)]);
        state.logs.insert(
            cart.id,
            CartLog {
                epochs: vec![EpochRow {
                    epoch: 0,
                    start_seq: 0,
                    base_seq: 0,
                    started_at: cart.now_ms,
                    bytes: cart.snapshot.to_vec(),
                }],
                changes: BTreeMap::new(),
                activity: Vec::new(),
            },
        );
        Ok(())
    }

    async fn count_created_carts(&self, user: UserId) -> Result<usize> {
        Ok(self
            .state()
            .carts
            .values()
            .filter(|c| c.created_by == user)
            .count())
    }

    async fn list_carts(&self, user: UserId) -> Result<Vec<CartListing>> {
        let state = self.state();
        let mut carts: Vec<(i64, CartListing)> = state
            .members
            .iter()
            .filter_map(|(id, members)| {
                let (_, role) = members.iter().find(|(u, _)| *u == user)?;
                let row = state.carts.get(id)?;
                Some((
                    row.updated_at,
                    CartListing {
                        id: *id,
                        store_id: row.store_id.clone(),
                        name: row.name.clone(),
                        role: *role,
                        subtotal: row.subtotal,
                        currency: row.currency.clone(),
                        line_count: row.line_count,
                    },
                ))
            })
            .collect();
        carts.sort_by_key(|c| std::cmp::Reverse(c.0));
        Ok(carts.into_iter().map(|(_, c)| c).collect())
    }

    async fn cart_store(&self, cart: CartId) -> Result<Option<String>> {
        Ok(self
            .state()
            .carts
            .get(&cart)
            .map(|row| row.store_id.clone()))
    }

    async fn delete_cart(&self, cart: CartId) -> Result<()> {
        let mut state = self.state();
        state.carts.remove(&cart);
        state.members.remove(&cart);
        state.logs.remove(&cart);
        Ok(())
    }
}

#[async_trait]
impl CatalogStore for MemoryStore {
    async fn seed(&self, catalog: &Catalog) -> Result<bool> {
        let mut state = self.state();
        let store = &catalog.store;
        if state.catalogs.contains_key(&store.id) {
            return Ok(false);
        }
        state.catalogs.insert(
            store.id.clone(),
            (store.clone(), catalog.listings().to_vec()),
        );
        Ok(true)
    }

    async fn load_catalogs(&self) -> Result<Vec<Catalog>> {
        Ok(self
            .state()
            .catalogs
            .values()
            .map(|(store, listings)| Catalog::new(store.clone(), listings.clone()))
            .collect())
    }
}

#[async_trait]
impl Health for MemoryStore {
    async fn check(&self) -> Result<()> {
        Ok(())
    }
}
