//! Merchant shares ("offers"): the store's staff send a cart they built to
//! a customer by e-mail, with a message and an expiry; the customer opens
//! it **live** (joins that cart as an editor, so both edit it together and
//! the staff review it before checkout) or takes a **copy** (a new cart of
//! their own with the same lines at the prices of now). Neither wipes or
//! merges into a cart the customer has.
//!
//! The e-mail goes through the outbox like an invitation's (its token is
//! minted when it is sent, purpose `offer`, link `/offer#<token>`); every
//! step is an event of the staff's cart.

use std::sync::Arc;

use cartroom_protocol::merchant::{
    Offer, OfferAcceptResponse, OfferId, OfferMode, OfferPreview, OfferRequest, OfferStatus,
};
use cartroom_protocol::sharing::{Acceptor, MAX_INVITE_MESSAGE_CHARS};
use cartroom_protocol::{CartId, ErrorCode, MemberRole, Op, OpId};

use super::accounts::valid_email;
use super::carts::CartService;
use super::error::{Result, ServiceError};
use super::feed::Feed;
use super::members::MAX_MEMBERS;
use super::sharing::{DAY_MS, delivery_view, expiry_days};
use crate::auth::purpose::{Purpose, purpose_hash, well_formed};
use crate::cart::Actor;
use crate::clock::Clock;
use crate::mail::MailQueue;
use crate::mail::offer::{OfferMail, offer as offer_mail};
use crate::refusal::Refusal;
use crate::store::offers::{NewOffer, OfferRecord};
use crate::store::sharing::{JoinError, MailPurpose, NewMail};
use crate::store::{Offers, StoreStaff};
use crate::text;

/// Most offers one cart may have sent.
pub const MAX_OFFERS_PER_CART: usize = 500;

/// What an offer service is built from.
pub struct OfferDeps {
    pub offers: Arc<dyn Offers>,
    pub staff: Arc<dyn StoreStaff>,
    /// Makes the copies (create, read, add lines) as the customer.
    pub carts: CartService,
    pub feed: Feed,
    pub clock: Arc<dyn Clock>,
    pub mail: MailQueue,
}

/// Carts the store's staff send to customers.
pub struct OfferService {
    deps: OfferDeps,
}

impl OfferService {
    pub fn new(deps: OfferDeps) -> Self {
        Self { deps }
    }

    /// Sends the cart to `req.email` (the caller is an admin of the cart;
    /// only the store's staff send offers).
    pub async fn send(&self, cart: CartId, by: &Actor, req: OfferRequest) -> Result<Offer> {
        let d = &self.deps;
        let store = d.carts.store_of(cart).await?;
        if d.staff.store_role(&store.id, by.user_id).await?.is_none() {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "only the store's staff send carts to customers (share it instead)",
            )
            .into());
        }
        let email = valid_email(&req.email)?;
        let message = req.message.trim().to_owned();
        text::check_multiline("a message", &message, MAX_INVITE_MESSAGE_CHARS)?;
        let days = expiry_days(req.expires_in_days)?;
        if d.offers.offers(cart).await?.len() >= MAX_OFFERS_PER_CART {
            return Err(Refusal::new(
                ErrorCode::TooMany,
                format!("a cart may be sent at most {MAX_OFFERS_PER_CART} times"),
            )
            .into());
        }
        let now = d.clock.now_ms();
        let offer = NewOffer {
            id: OfferId::new_random(),
            cart,
            email: email.clone(),
            message,
            sent_by: by.user_id,
            now_ms: now,
            expires_at: now + i64::from(days) * DAY_MS,
        };
        let view = d.carts.view(cart).await?;
        let rendered = offer_mail(&OfferMail {
            sender: &by.name,
            store_name: &store.name,
            cart_name: &view.name,
            message: &offer.message,
            expires_at: offer.expires_at,
        });
        let mail = NewMail {
            purpose: MailPurpose::Offer,
            ref_id: offer.id.to_string(),
            recipient: email.clone(),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            now_ms: now,
        };
        d.offers.create_offer(&offer, &mail).await?;
        d.mail.wake();
        let text = format!("{} sent this cart to {email}", by.name);
        self.deps.feed.note(cart, by, "offer_sent", text).await;
        let record = d.offers.offer(cart, offer.id).await?.ok_or_else(|| {
            ServiceError::from(Refusal::new(ErrorCode::NotFound, "no such offer"))
        })?;
        Ok(offer_view(&record, d.clock.now_ms()))
    }

    /// The cart's offers, newest first.
    pub async fn list(&self, cart: CartId) -> Result<Vec<Offer>> {
        let now = self.deps.clock.now_ms();
        let offers = self.deps.offers.offers(cart).await?;
        Ok(offers.iter().map(|o| offer_view(o, now)).collect())
    }

    /// What the token offers; the same refusals as accepting it.
    pub async fn preview(&self, token: &str) -> Result<OfferPreview> {
        let hash = offer_hash(token)?;
        let now = self.deps.clock.now_ms();
        let offer = self
            .deps
            .offers
            .offer_by_token(&hash)
            .await?
            .ok_or(JoinError::NotFound)?;
        if let Some(refusal) = offer.refusal(now) {
            return Err(refusal.into());
        }
        let store = self.deps.carts.store_of(offer.cart).await?;
        Ok(OfferPreview {
            store_name: store.name,
            currency: store.currency,
            cart_name: offer.cart_name,
            sent_by: offer.sent_by_name,
            message: offer.message,
            email: offer.email,
            expires_at: offer.expires_at,
            line_count: offer.line_count,
            subtotal: offer.subtotal,
        })
    }

    /// Takes the offer live or as a copy. Taking it again the same way
    /// answers the same (`already_accepted`); the other way, or by someone
    /// else, is `invite_used_up`.
    pub async fn accept(
        &self,
        token: &str,
        who: &Actor,
        mode: OfferMode,
    ) -> Result<OfferAcceptResponse> {
        let hash = offer_hash(token)?;
        match mode {
            OfferMode::Live => self.accept_live(&hash, who).await,
            OfferMode::Copy => self.accept_copy(&hash, who).await,
        }
    }

    async fn accept_live(&self, hash: &str, who: &Actor) -> Result<OfferAcceptResponse> {
        let now = self.deps.clock.now_ms();
        let joined = self
            .deps
            .offers
            .accept_offer_live(hash, who.user_id, now, MAX_MEMBERS)
            .await?;
        if !joined.already_member {
            let text = format!("{} opened {}'s offer live", who.name, joined.inviter.1);
            let member = (who.user_id, joined.role);
            self.deps.feed.joined(joined.cart, who, text, member).await;
        }
        Ok(OfferAcceptResponse {
            cart_id: joined.cart,
            mode: OfferMode::Live,
            role: joined.role,
            already_accepted: joined.already_member,
            skipped: Vec::new(),
        })
    }

    /// A new cart of the customer's with the offer's lines, added as the
    /// customer at the prices of now; lines that cannot be added (sold out,
    /// no longer sold) are skipped and named.
    async fn accept_copy(&self, hash: &str, who: &Actor) -> Result<OfferAcceptResponse> {
        let d = &self.deps;
        let now = d.clock.now_ms();
        let offer = d
            .offers
            .offer_by_token(hash)
            .await?
            .ok_or(JoinError::NotFound)?;
        let mine = offer
            .accepted_by
            .as_ref()
            .is_some_and(|(u, _)| *u == who.user_id);
        if let (true, Some(OfferMode::Copy), Some(copy)) =
            (mine, offer.accepted_as, offer.copy_cart)
        {
            return Ok(OfferAcceptResponse {
                cart_id: copy,
                mode: OfferMode::Copy,
                role: MemberRole::Admin,
                already_accepted: true,
                skipped: Vec::new(),
            });
        }
        if let Some(refusal) = offer.refusal(now) {
            return Err(refusal.into());
        }
        let source = d.carts.view(offer.cart).await?;
        let store = d.carts.store_of(offer.cart).await?;
        let copy = d.carts.create(who, &source.name, Some(&store.id)).await?.id;
        let mut skipped = Vec::new();
        for (i, line) in source.lines.iter().enumerate() {
            let op = Op::AddLine {
                sku: line.sku.clone(),
                quantity: line.quantity,
            };
            let op_id = OpId(format!("offer-{}-{i}", offer.id.0.simple()));
            match d
                .carts
                .run_op(copy, who.clone(), MemberRole::Admin, op_id, op)
                .await
            {
                Ok(_) => {}
                Err(ServiceError::Refused(_)) => skipped.push(line.sku.clone()),
                Err(e) => {
                    let _ = d.carts.delete(copy).await;
                    return Err(e);
                }
            }
        }
        if let Err(e) = d
            .offers
            .mark_offer_copied(hash, who.user_id, copy, d.clock.now_ms())
            .await
        {
            // Taken or expired while the copy was made: the copy goes.
            let _ = d.carts.delete(copy).await;
            return Err(e.into());
        }
        let text = format!(
            "{} took a copy of this cart ({}'s offer)",
            who.name, offer.sent_by_name
        );
        self.deps
            .feed
            .note(offer.cart, who, "offer_copied", text)
            .await;
        Ok(OfferAcceptResponse {
            cart_id: copy,
            mode: OfferMode::Copy,
            role: MemberRole::Admin,
            already_accepted: false,
            skipped,
        })
    }
}

/// The stored hash of an offer's token; a token the server cannot have
/// made is `invite_not_found` at once.
fn offer_hash(token: &str) -> Result<String> {
    if !well_formed(token.trim()) {
        return Err(JoinError::NotFound.into());
    }
    Ok(purpose_hash(Purpose::Offer, token.trim()))
}

fn offer_view(offer: &OfferRecord, now: i64) -> Offer {
    let status = match offer.accepted_as {
        Some(OfferMode::Live) => OfferStatus::AcceptedLive,
        Some(OfferMode::Copy) => OfferStatus::AcceptedCopy,
        None if now >= offer.expires_at => OfferStatus::Expired,
        None => OfferStatus::Pending,
    };
    Offer {
        id: offer.id,
        cart_id: offer.cart,
        email: offer.email.clone(),
        message: offer.message.clone(),
        sent_by: offer.sent_by_name.clone(),
        created_at: offer.created_at,
        expires_at: offer.expires_at,
        status,
        accepted_by: offer.accepted_by.as_ref().map(|(user_id, name)| Acceptor {
            user_id: *user_id,
            name: name.clone(),
        }),
        accepted_at: offer.accepted_at,
        copy_cart_id: offer.copy_cart,
        delivery: delivery_view(offer.delivery.as_ref()),
    }
}
