//! The support desk's side of carts (migration `0009_takeovers.sql`):
//! takeovers and help codes, and the few facts about carts, stores and
//! conversations that deciding who may watch or take over a cart needs
//! (who is on a store's staff is [`StoreStaff`](super::StoreStaff)'s).
//!
//! The storage keeps the rules that must hold under concurrent writers: a
//! cart has at most one open (requested or active) takeover, and a status
//! moves only from the state its caller saw (compare and set), so that a
//! shopper ending a takeover and the agent handing it back cannot both win.

use async_trait::async_trait;
use cartroom_protocol::takeover::{Takeover, TakeoverId, TakeoverStatus};
use cartroom_protocol::{CartId, UserId};

use super::Result;

/// What the support desk needs to know about a cart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CartFacts {
    pub store_id: String,
    pub created_by: UserId,
    pub name: String,
}

/// A help code as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelpCode {
    pub cart_id: CartId,
    pub created_by: UserId,
    pub expires_at: i64,
}

/// A status change, made only if the takeover is in one of `from`.
#[derive(Clone, Copy, Debug)]
pub struct Transition<'a> {
    pub id: TakeoverId,
    pub from: &'a [TakeoverStatus],
    pub to: TakeoverStatus,
    pub now_ms: i64,
    /// Who ended or declined it (for `ended` and `declined`).
    pub by: Option<UserId>,
}

/// A cart of a customer, as the panel lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerCart {
    pub cart_id: CartId,
    pub name: String,
}

/// Takeovers, help codes and the facts around them.
#[async_trait]
pub trait Takeovers: Send + Sync {
    /// The cart's store, creator and name; `None` when there is no such cart.
    async fn cart_facts(&self, cart: CartId) -> Result<Option<CartFacts>>;

    /// Whether the user is a guest; `None` when there is no such user.
    async fn is_guest(&self, user: UserId) -> Result<Option<bool>>;

    /// Whether a member of the cart has a conversation with the store, so
    /// that the store's staff may watch it.
    async fn has_customer_in(&self, cart: CartId, store: &str) -> Result<bool>;

    /// The user's carts (any role) in the store, most recently changed
    /// first, at most `limit`.
    async fn customer_carts(
        &self,
        user: UserId,
        store: &str,
        limit: usize,
    ) -> Result<Vec<CustomerCart>>;

    /// Stores a new takeover; false (nothing stored) when its cart has an
    /// open takeover already.
    async fn insert_takeover(&self, takeover: &Takeover) -> Result<bool>;

    async fn takeover(&self, id: TakeoverId) -> Result<Option<Takeover>>;

    /// The cart's open (requested or active) takeover.
    async fn open_takeover(&self, cart: CartId) -> Result<Option<Takeover>>;

    /// Moves a takeover's status; the takeover after it, or `None` when it
    /// was not in one of `from` (or does not exist).
    async fn transition(&self, change: Transition<'_>) -> Result<Option<Takeover>>;

    /// Stores the cart's help code (replacing its previous one) after
    /// forgetting codes expired at `now_ms`; false when another cart holds
    /// a live code with this hash (pick another code).
    async fn put_help_code(&self, code_hash: &str, code: &HelpCode, now_ms: i64) -> Result<bool>;

    /// Takes the code with this hash out (a code is used once), expired or not.
    async fn take_help_code(&self, code_hash: &str) -> Result<Option<HelpCode>>;
}
