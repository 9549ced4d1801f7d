//! Merchant shares ("offers") as the store keeps them: a cart the store's
//! staff sent to a customer by e-mail (queued in the transaction that
//! writes the offer), and how the customer took it. Taking it live checks
//! the token, adds the member and marks the offer in one transaction; a
//! copy is marked only if nobody took the offer meanwhile.

use async_trait::async_trait;
use cartroom_protocol::merchant::{OfferId, OfferMode};
use cartroom_protocol::{CartId, UserId};

use super::Result;
use super::sharing::{DeliveryRecord, JoinError, Joined, NewMail};

/// A new offer (its e-mail is queued with it).
#[derive(Clone, Debug)]
pub struct NewOffer {
    pub id: OfferId,
    pub cart: CartId,
    /// Lower-cased.
    pub email: String,
    pub message: String,
    pub sent_by: UserId,
    pub now_ms: i64,
    pub expires_at: i64,
}

/// An offer with the names and numbers around it.
#[derive(Clone, Debug)]
pub struct OfferRecord {
    pub id: OfferId,
    pub cart: CartId,
    pub cart_name: String,
    /// The cart's summary columns now.
    pub line_count: i64,
    pub subtotal: i64,
    pub email: String,
    pub message: String,
    pub sent_by: UserId,
    pub sent_by_name: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_by: Option<(UserId, String)>,
    pub accepted_at: Option<i64>,
    pub accepted_as: Option<OfferMode>,
    pub copy_cart: Option<CartId>,
    /// Its latest e-mail.
    pub delivery: Option<DeliveryRecord>,
}

impl OfferRecord {
    /// Why the offer cannot be taken now by someone who has not taken it.
    pub fn refusal(&self, now_ms: i64) -> Option<JoinError> {
        if self.accepted_at.is_some() {
            Some(JoinError::UsedUp)
        } else if now_ms >= self.expires_at {
            Some(JoinError::Expired)
        } else {
            None
        }
    }
}

/// Offers of carts.
#[async_trait]
pub trait Offers: Send + Sync {
    /// Writes the offer and queues its e-mail, atomically.
    async fn create_offer(&self, offer: &NewOffer, mail: &NewMail) -> Result<()>;

    /// The cart's offers, newest first.
    async fn offers(&self, cart: CartId) -> Result<Vec<OfferRecord>>;

    async fn offer(&self, cart: CartId, id: OfferId) -> Result<Option<OfferRecord>>;

    async fn offer_by_token(&self, token_hash: &str) -> Result<Option<OfferRecord>>;

    /// Makes `user` an editor of the offer's cart (never lowering a role)
    /// and marks the offer taken live, in one transaction. The same user
    /// taking it live again changes nothing (`already_member`).
    async fn accept_offer_live(
        &self,
        token_hash: &str,
        user: UserId,
        now_ms: i64,
        max_members: usize,
    ) -> Result<Joined, JoinError>;

    /// Marks the offer taken as a copy into `copy` (a cart the caller made
    /// for `user`), unless it was taken or expired meanwhile.
    async fn mark_offer_copied(
        &self,
        token_hash: &str,
        user: UserId,
        copy: CartId,
        now_ms: i64,
    ) -> Result<(), JoinError>;
}
