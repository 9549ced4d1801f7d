//! Offers (carts the store's staff sent to customers) in memory, under the
//! store's one lock, as atomic as their SQLite transactions.

use async_trait::async_trait;
use cartroom_protocol::merchant::{OfferId, OfferMode};
use cartroom_protocol::{CartId, MemberRole, UserId};

use super::{MemoryStore, State};
use crate::store::Result;
use crate::store::offers::{NewOffer, OfferRecord, Offers};
use crate::store::sharing::{JoinError, Joined, MailPurpose, NewMail};

pub(super) struct OfferRow {
    new: NewOffer,
    token_hash: Option<String>,
    accepted_by: Option<UserId>,
    accepted_at: Option<i64>,
    accepted_as: Option<OfferMode>,
    copy_cart: Option<CartId>,
}

impl State {
    fn offer_record(&self, row: &OfferRow) -> OfferRecord {
        let cart = self.carts.get(&row.new.cart);
        OfferRecord {
            id: row.new.id,
            cart: row.new.cart,
            cart_name: cart.map(|c| c.name.clone()).unwrap_or_default(),
            line_count: cart.map_or(0, |c| c.line_count),
            subtotal: cart.map_or(0, |c| c.subtotal),
            email: row.new.email.clone(),
            message: row.new.message.clone(),
            sent_by: row.new.sent_by,
            sent_by_name: self.name_of(row.new.sent_by),
            created_at: row.new.now_ms,
            expires_at: row.new.expires_at,
            accepted_by: row.accepted_by.map(|u| (u, self.name_of(u))),
            accepted_at: row.accepted_at,
            accepted_as: row.accepted_as,
            copy_cart: row.copy_cart,
            delivery: self.latest_delivery(MailPurpose::Offer, &row.new.id.to_string()),
        }
    }

    fn offer_by_hash(&self, token_hash: &str) -> Option<usize> {
        self.offers
            .iter()
            .position(|r| r.token_hash.as_deref() == Some(token_hash))
    }

    /// Stores the hash of an offer e-mail's token while nobody took the
    /// offer and it has not expired; false otherwise.
    pub(super) fn mint_offer_token(&mut self, id: &str, token_hash: &str, now_ms: i64) -> bool {
        self.offers
            .iter_mut()
            .find(|r| r.new.id.to_string() == id)
            .filter(|r| r.accepted_at.is_none() && r.new.expires_at > now_ms)
            .map(|r| r.token_hash = Some(token_hash.to_owned()))
            .is_some()
    }
}

#[async_trait]
impl Offers for MemoryStore {
    async fn create_offer(&self, offer: &NewOffer, mail: &NewMail) -> Result<()> {
        let mut state = self.state();
        state.offers.push(OfferRow {
            new: offer.clone(),
            token_hash: None,
            accepted_by: None,
            accepted_at: None,
            accepted_as: None,
            copy_cart: None,
        });
        state.queue_mail(mail);
        Ok(())
    }

    async fn offers(&self, cart: CartId) -> Result<Vec<OfferRecord>> {
        let state = self.state();
        let mut offers: Vec<OfferRecord> = state
            .offers
            .iter()
            .filter(|r| r.new.cart == cart)
            .map(|r| state.offer_record(r))
            .collect();
        offers.reverse();
        Ok(offers)
    }

    async fn offer(&self, cart: CartId, id: OfferId) -> Result<Option<OfferRecord>> {
        let state = self.state();
        Ok(state
            .offers
            .iter()
            .find(|r| r.new.cart == cart && r.new.id == id)
            .map(|r| state.offer_record(r)))
    }

    async fn offer_by_token(&self, token_hash: &str) -> Result<Option<OfferRecord>> {
        let state = self.state();
        Ok(state
            .offer_by_hash(token_hash)
            .map(|i| state.offer_record(&state.offers[i])))
    }

    async fn accept_offer_live(
        &self,
        token_hash: &str,
        user: UserId,
        now_ms: i64,
        max_members: usize,
    ) -> Result<Joined, JoinError> {
        let mut state = self.state();
        let i = state.offer_by_hash(token_hash).ok_or(JoinError::NotFound)?;
        let offer = state.offer_record(&state.offers[i]);
        let inviter = (offer.sent_by, offer.sent_by_name.clone());
        let mine = offer.accepted_by.as_ref().is_some_and(|(u, _)| *u == user);
        if mine && offer.accepted_as == Some(OfferMode::Live) {
            let role = state
                .members
                .get(&offer.cart)
                .and_then(|m| m.iter().find(|(u, _)| *u == user))
                .map(|(_, r)| *r)
                .ok_or(JoinError::UsedUp)?;
            return Ok(Joined {
                cart: offer.cart,
                role,
                previous: Some(role),
                already_member: true,
                inviter,
            });
        }
        if let Some(refusal) = offer.refusal(now_ms) {
            return Err(refusal);
        }
        let (previous, role) = state.join(offer.cart, user, MemberRole::Editor, max_members)?;
        let row = &mut state.offers[i];
        row.accepted_by = Some(user);
        row.accepted_at = Some(now_ms);
        row.accepted_as = Some(OfferMode::Live);
        Ok(Joined {
            cart: offer.cart,
            role,
            already_member: previous.is_some_and(|had| had >= MemberRole::Editor),
            previous,
            inviter,
        })
    }

    async fn mark_offer_copied(
        &self,
        token_hash: &str,
        user: UserId,
        copy: CartId,
        now_ms: i64,
    ) -> Result<(), JoinError> {
        let mut state = self.state();
        let row = state
            .offers
            .iter_mut()
            .find(|r| r.token_hash.as_deref() == Some(token_hash))
            .filter(|r| r.accepted_at.is_none() && r.new.expires_at > now_ms)
            .ok_or(JoinError::UsedUp)?;
        row.accepted_by = Some(user);
        row.accepted_at = Some(now_ms);
        row.accepted_as = Some(OfferMode::Copy);
        row.copy_cart = Some(copy);
        Ok(())
    }
}
