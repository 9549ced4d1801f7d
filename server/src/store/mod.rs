//! Durable state, behind one trait per aggregate: accounts, sessions,
//! memberships, carts, the catalog, each cart's change log with its
//! commit queue, and sharing (invitations, links, password resets and the
//! outbox of e-mails, in [`sharing`]), orders ([`orders`]), the
//! store's staff ([`staff`]), the carts they send customers ([`offers`]),
//! the carts customers share with the store ([`store_shares`]),
//! two-factor sign-in ([`totp`]) and the store owner's analytics
//! ([`analytics`]; not in [`memory`]).
//!
//! [`sqlite`] is the implementation a node runs on by default (WAL, a
//! group-commit writer); [`postgres`] implements every trait on Postgres,
//! for several nodes on one database, with cart [`leases`]; [`backend`]
//! opens the configured one. [`memory`] keeps everything in memory, for
//! tests of the room and the services that need no disk. No SQL lives
//! outside `sqlite/` and `postgres/`.
//!
//! The traits assume other writers may exist: the `(cart, seq)` key of the
//! change log refuses a second change at a position, so two rooms of one
//! cart can never both commit, and on Postgres each commit also checks the
//! room's lease term (fencing).

pub mod analytics;
pub mod back_office;
pub mod backend;
#[cfg(test)]
pub(crate) mod changelog_tests;
pub mod error;
pub mod leases;
pub mod memory;
pub mod offers;
pub mod orders;
pub mod postgres;
pub mod records;
pub mod sharing;
pub mod sqlite;
pub mod staff;
pub mod store_shares;
pub mod support;
pub mod takeover;
pub mod totp;
pub mod webhooks;
mod write_queue;

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use cartroom_protocol::http::{Member, User};
use cartroom_protocol::{ActivityEvent, CartId, MemberRole, UserId};

use crate::catalog::Catalog;
pub use analytics::Analytics;
pub use back_office::BackOfficeStore;
pub use error::{CommitError, MemberChangeError, Result, StoreError};
pub use leases::{Acquired, Leases};
pub use offers::Offers;
pub use orders::{
    CheckoutSettings, Deadlines, NewOrder, Orders, PlaceError, Shortage, StatusError, UnsyncedOrder,
};
pub use records::{
    Base, CartListing, CartState, CartSummary, ChangeRecord, EpochInfo, LoadLimits, MemberChange,
    NewCart,
};
pub use sharing::{Outbox, PasswordResets, Sharing};
pub use staff::{StaffAccess, StaffRemoval, StoreStaff};
pub use store_shares::StoreShares;
pub use support::Support;
pub use takeover::Takeovers;
pub use totp::{TotpRecord, TwoFactor};
pub use webhooks::{CartHooks, Webhooks};

/// Resolves once a queued write is durable (or has failed).
pub type CommitTicket = Pin<Box<dyn Future<Output = Result<(), CommitError>> + Send>>;

/// User accounts.
#[async_trait]
pub trait Accounts: Send + Sync {
    /// Inserts a user; false when the e-mail is taken.
    async fn insert_user(
        &self,
        user: &User,
        password_hash: Option<&str>,
        now_ms: i64,
    ) -> Result<bool>;

    /// Turns a guest into a registered account, keeping its id (and so its
    /// carts). False when the e-mail is taken.
    async fn upgrade_guest(
        &self,
        id: UserId,
        email: &str,
        name: &str,
        password_hash: &str,
    ) -> Result<bool>;

    /// The user with this (lower-cased) e-mail, and its password hash.
    async fn user_by_email(&self, email: &str) -> Result<Option<(User, Option<String>)>>;

    /// A user's display name.
    async fn user_name(&self, id: UserId) -> Result<Option<String>>;
}

/// Sessions, known only by the hash of their token.
#[async_trait]
pub trait Sessions: Send + Sync {
    async fn insert_session(
        &self,
        token_hash: &str,
        user: UserId,
        now_ms: i64,
        expires_at: i64,
    ) -> Result<()>;

    /// The user of an unexpired session.
    async fn session_user(&self, token_hash: &str, now_ms: i64) -> Result<Option<User>>;

    async fn delete_session(&self, token_hash: &str) -> Result<()>;

    /// Forgets expired sessions; returns how many.
    async fn delete_expired_sessions(&self, now_ms: i64) -> Result<u64>;
}

/// Who is a member of which cart, with which role.
#[async_trait]
pub trait Memberships: Send + Sync {
    /// The user's role in the cart; `None` when not a member (or no cart).
    async fn role_of(&self, cart: CartId, user: UserId) -> Result<Option<MemberRole>>;

    /// Members in the order they joined.
    async fn list_members(&self, cart: CartId) -> Result<Vec<Member>>;

    /// Sets, adds or removes a membership atomically, so that two admins
    /// demoting each other cannot leave the cart without one.
    async fn change_member(&self, change: MemberChange) -> Result<(), MemberChangeError>;
}

/// Carts as rows: created, listed, deleted. Their documents live in the
/// [`ChangeLog`].
#[async_trait]
pub trait Carts: Send + Sync {
    /// Creates the cart, its creator as admin and its first base, atomically.
    async fn create_cart(&self, cart: NewCart<'_>) -> Result<()>;

    /// The store a cart buys from; `None` when there is no such cart.
    async fn cart_store(&self, cart: CartId) -> Result<Option<String>>;

    /// Carts this user has created (to bound them).
    async fn count_created_carts(&self, user: UserId) -> Result<usize>;

    /// The carts the user is a member of, most recently changed first.
    async fn list_carts(&self, user: UserId) -> Result<Vec<CartListing>>;

    async fn delete_cart(&self, cart: CartId) -> Result<()>;
}

/// The stores and their products.
#[async_trait]
pub trait CatalogStore: Send + Sync {
    /// Writes the store and its listings unless the store exists; true when written.
    async fn seed(&self, catalog: &Catalog) -> Result<bool>;

    /// Every store with its listings in catalog order, by store id.
    async fn load_catalogs(&self) -> Result<Vec<Catalog>>;
}

/// Each cart's change log (each change with its op id and activity), the
/// bases of its epochs, and its other activity, with the queue that makes
/// writes durable.
#[async_trait]
pub trait ChangeLog: Send + Sync {
    /// What a room needs to load the cart: the current epoch's base and the
    /// changes after it. `None` when there is no such cart.
    async fn load_cart(&self, cart: CartId, limits: LoadLimits) -> Result<Option<CartState>>;

    /// Queues a change (waiting while the queue is full); the ticket
    /// resolves once it is committed. Records queued one after another by one
    /// room commit in that order.
    async fn append(&self, record: ChangeRecord) -> CommitTicket;

    /// Queues an activity event that is not a change (chat, membership),
    /// of a room with this lease term (see [`ChangeRecord::term`]).
    async fn append_activity(&self, cart: CartId, term: i64, event: ActivityEvent) -> CommitTicket;

    /// Queues a base (see [`Base`]) unless the queue is full; false means
    /// "later". It commits after what was queued before it; a base of an
    /// epoch older than the cart's current one is refused.
    fn try_put_base(&self, base: Base) -> bool;

    /// The latest `limit` activity events of a cart (changes' and others'),
    /// oldest first.
    async fn recent_activity(&self, cart: CartId, limit: usize) -> Result<Vec<ActivityEvent>>;

    /// The cart's epochs, oldest first (empty when there is no such cart).
    async fn epochs(&self, cart: CartId) -> Result<Vec<EpochInfo>>;

    /// An epoch's document in parts: its base and the changes of the epoch
    /// after it, in order. `None` when the cart has no such epoch.
    async fn epoch_doc_parts(
        &self,
        cart: CartId,
        epoch: i64,
    ) -> Result<Option<(Vec<u8>, Vec<Vec<u8>>)>>;
}

/// Whether the storage answers.
#[async_trait]
pub trait Health: Send + Sync {
    async fn check(&self) -> Result<()>;
}

/// One handle per aggregate, as the composition root hands them out.
#[derive(Clone)]
pub struct Stores {
    pub accounts: Arc<dyn Accounts>,
    pub sessions: Arc<dyn Sessions>,
    pub members: Arc<dyn Memberships>,
    pub carts: Arc<dyn Carts>,
    pub catalog: Arc<dyn CatalogStore>,
    pub changes: Arc<dyn ChangeLog>,
    pub health: Arc<dyn Health>,
    /// Invitations and share links.
    pub sharing: Arc<dyn Sharing>,
    pub resets: Arc<dyn PasswordResets>,
    /// E-mails waiting for the mail worker.
    pub outbox: Arc<dyn Outbox>,
    /// Orders, stock taken with them, the store's checkout settings.
    pub orders: Arc<dyn Orders>,
    /// Carts' deadlines, for the timer that locks them.
    pub deadlines: Arc<dyn Deadlines>,
    /// The store's owners and staff.
    pub staff: Arc<dyn StoreStaff>,
    /// Carts the staff sent to customers.
    pub offers: Arc<dyn Offers>,
    /// Carts shoppers shared with the store.
    pub store_shares: Arc<dyn StoreShares>,
    /// Support desk: customers, conversations and their messages.
    pub support: Arc<dyn Support>,
    /// Two-factor sign-in: TOTP secrets and recovery codes.
    pub two_factor: Arc<dyn TwoFactor>,
    /// Support desk: takeovers and help codes.
    pub takeovers: Arc<dyn Takeovers>,
    /// The store owner's analytics, and share-link opens.
    pub analytics: Arc<dyn Analytics>,
    /// Webhook endpoints, their outbox and delivery log.
    pub webhooks: Arc<dyn Webhooks>,
    /// The store API: keys, idempotent answers, catalog and customer sync.
    pub back_office: Arc<dyn BackOfficeStore>,
}

impl Stores {
    /// Every handle served by one backend that implements them all.
    pub fn from_backend<B>(backend: Arc<B>) -> Self
    where
        B: Accounts
            + Sessions
            + Memberships
            + Carts
            + CatalogStore
            + ChangeLog
            + Health
            + Sharing
            + PasswordResets
            + Outbox
            + Orders
            + Deadlines
            + StoreStaff
            + Offers
            + StoreShares
            + Support
            + TwoFactor
            + Takeovers
            + Analytics
            + Webhooks
            + BackOfficeStore
            + 'static,
    {
        Self {
            accounts: backend.clone(),
            sessions: backend.clone(),
            members: backend.clone(),
            carts: backend.clone(),
            catalog: backend.clone(),
            changes: backend.clone(),
            health: backend.clone(),
            sharing: backend.clone(),
            resets: backend.clone(),
            outbox: backend.clone(),
            orders: backend.clone(),
            deadlines: backend.clone(),
            staff: backend.clone(),
            offers: backend.clone(),
            store_shares: backend.clone(),
            support: backend.clone(),
            takeovers: backend.clone(),
            analytics: backend.clone(),
            webhooks: backend.clone(),
            back_office: backend.clone(),
            two_factor: backend,
        }
    }
}

/// An id as stored (text), parsed back.
fn parse_id<T: FromStr>(s: &str) -> Result<T> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("bad id {s:?}")))
}

/// A member's role as stored, parsed back.
fn parse_role(s: &str) -> Result<MemberRole> {
    MemberRole::parse(s).ok_or_else(|| StoreError::Corrupt(format!("bad role {s:?}")))
}
