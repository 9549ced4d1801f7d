//! What can go wrong below the store traits.

use std::sync::Arc;

use cartroom_protocol::CartId;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// From the SQLite writer's own connection (`store::sqlite::writer`).
    #[error("database: {0}")]
    Writer(#[from] rusqlite::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("creating the data folder: {0}")]
    Io(#[from] std::io::Error),
    #[error("configuration: {0}")]
    Config(String),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("writes are failing (is the disk full?)")]
    WritesFailing,
    #[error("a base of epoch {epoch} of cart {cart} comes after a later epoch's")]
    StaleBase { cart: CartId, epoch: i64 },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Why a change (or an activity event) did not become durable. Cheap to
/// clone: one failed group commit answers every record in it.
#[derive(Clone, Debug, thiserror::Error)]
pub enum CommitError {
    /// The write or its commit failed; nothing of the record is stored.
    #[error("the commit failed: {0}")]
    Failed(Arc<str>),
    /// This node no longer holds the cart's lease (many nodes): another
    /// node owns the cart now, and nothing of the record is stored.
    #[error("this node no longer holds the cart's lease")]
    LeaseLost,
    /// The writer stopped before it answered (shutting down).
    #[error("the writer stopped")]
    WriterStopped,
}

impl From<&StoreError> for CommitError {
    fn from(e: &StoreError) -> Self {
        Self::Failed(e.to_string().into())
    }
}

/// Why a membership change was refused.
#[derive(Debug, thiserror::Error)]
pub enum MemberChangeError {
    #[error("the cart must keep at least one admin")]
    LastAdmin,
    #[error("not a member of this cart")]
    NotMember,
    #[error("a cart has at most {0} members")]
    TooMany(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for MemberChangeError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}
