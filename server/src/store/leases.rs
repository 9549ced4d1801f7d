//! Cart leases: which node runs a cart's room, where several nodes share
//! one database. A lease has a term that grows by one at every change of
//! owner (and at every new room on the same node); each commit of the
//! change log checks, in its transaction, that its node still holds the
//! term its room was loaded with, so that a node that lost a lease can
//! never write (fencing). Expiry is measured by the database's clock.

use std::time::Duration;

use async_trait::async_trait;
use cartroom_protocol::CartId;

use super::Result;

/// The outcome of asking for a cart's lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acquired {
    /// This node holds the lease with this term until it lapses unrenewed.
    Held { term: i64 },
    /// Another node holds it, unexpired.
    Elsewhere { node: String },
    /// There is no such cart.
    NoCart,
}

/// The leases of carts' rooms.
#[async_trait]
pub trait Leases: Send + Sync {
    /// Takes the cart's lease for `node` for `ttl` when it is free, lapsed
    /// or already `node`'s, with the next term.
    async fn acquire(&self, cart: CartId, node: &str, ttl: Duration) -> Result<Acquired>;

    /// Extends the leases `node` still holds with these terms by `ttl`;
    /// returns the carts of those it no longer holds.
    async fn renew(&self, node: &str, held: &[(CartId, i64)], ttl: Duration)
    -> Result<Vec<CartId>>;

    /// Gives a lease up (its room unloaded), so that another node may take
    /// the cart at once.
    async fn release(&self, cart: CartId, node: &str, term: i64) -> Result<()>;

    /// The node holding the cart's unexpired lease, if any.
    async fn owner(&self, cart: CartId) -> Result<Option<String>>;
}
