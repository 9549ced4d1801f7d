//! Carts shoppers share with the store (migration `0005_store_staff.sql`),
//! and the store setting that allows it. A share and the e-mails telling
//! the staff are written in one transaction; a staff member opening the
//! shared cart joins it as an editor in one transaction too.

use async_trait::async_trait;
use cartroom_protocol::store::{StoreSettings, StoreShareId};
use cartroom_protocol::{CartId, MemberRole, UserId};

use super::Result;
use super::sharing::{JoinError, NewMail};

/// A new share with the store.
#[derive(Clone, Debug)]
pub struct NewStoreShare {
    pub id: StoreShareId,
    pub store: String,
    pub cart: CartId,
    pub shared_by: UserId,
    pub name: String,
    /// Lower-cased.
    pub email: String,
    pub message: String,
    pub now_ms: i64,
}

/// A share with the cart's summary now.
#[derive(Clone, Debug)]
pub struct StoreShareRecord {
    pub id: StoreShareId,
    pub cart: CartId,
    pub cart_name: String,
    pub line_count: i64,
    pub subtotal: i64,
    pub name: String,
    pub email: String,
    pub message: String,
    pub created_at: i64,
}

/// Carts shared with stores.
#[async_trait]
pub trait StoreShares: Send + Sync {
    /// What the store allows: whether it takes carts its customers share
    /// (false when unset), and whether takeovers ask registered shoppers.
    async fn settings(&self, store: &str) -> Result<StoreSettings>;

    async fn set_settings(&self, store: &str, settings: &StoreSettings) -> Result<()>;

    /// Writes the share and queues the staff's e-mails, atomically.
    async fn create_store_share(&self, share: &NewStoreShare, mails: &[NewMail]) -> Result<()>;

    /// The store's shares, newest first.
    async fn store_shares(&self, store: &str) -> Result<Vec<StoreShareRecord>>;

    /// Makes `user` an editor of the shared cart (never lowering a role),
    /// in one transaction: (the cart, role before, role now).
    /// `JoinError::NotFound` when the store has no such share.
    async fn open_store_share(
        &self,
        store: &str,
        id: StoreShareId,
        user: UserId,
        now_ms: i64,
        max_members: usize,
    ) -> Result<(CartId, Option<MemberRole>, MemberRole), JoinError>;
}
