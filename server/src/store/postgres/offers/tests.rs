//! Offers on Postgres: the trait's answers as on SQLite, and one offer
//! taken once when customers take it at once (live or as a copy).

use cartroom_protocol::merchant::{OfferId, OfferMode};
use cartroom_protocol::sharing::DeliveryStatus;
use cartroom_protocol::{CartId, MemberRole, UserId};

use super::super::PgStore;
use super::super::join::testing::{cart, member_count, user};
use crate::store::offers::{NewOffer, Offers};
use crate::store::sharing::{JoinError, MailPurpose, NewMail};

const MAX: usize = 20;

async fn offer(store: &PgStore, cart: CartId, by: UserId, token: &str, now_ms: i64) -> OfferId {
    let id = OfferId::new_random();
    let new = NewOffer {
        id,
        cart,
        email: "shopper@example.com".to_owned(),
        message: "for you".to_owned(),
        sent_by: by,
        now_ms,
        expires_at: 1_000,
    };
    let mail = NewMail {
        purpose: MailPurpose::Offer,
        ref_id: id.to_string(),
        recipient: "shopper@example.com".to_owned(),
        subject: "An offer".to_owned(),
        text: "text".to_owned(),
        html: "html".to_owned(),
        now_ms,
    };
    store.create_offer(&new, &mail).await.unwrap();
    sqlx::query("UPDATE offers SET token_hash = $1 WHERE id = $2")
        .bind(token)
        .bind(id.to_string())
        .execute(&store.pool)
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn offers_are_listed_and_taken_live_or_copied() {
    let Some(store) = crate::store::postgres::testing::fresh().await else {
        return;
    };
    let (agent, ann, bob) = (
        user(&store, "Agent").await,
        user(&store, "Ann").await,
        user(&store, "Bob").await,
    );
    let c = cart(&store, agent).await;
    let first = offer(&store, c, agent, "o-1", 100).await;
    let second = offer(&store, c, agent, "o-2", 200).await;
    let listed: Vec<_> = (store.offers(c).await.unwrap().into_iter())
        .map(|o| o.id)
        .collect();
    assert_eq!(listed, [second, first], "newest first");
    let o = store.offer(c, first).await.unwrap().unwrap();
    assert_eq!(
        (o.cart_name.as_str(), o.line_count, o.subtotal),
        ("Picnic", 0, 0)
    );
    assert_eq!(o.sent_by_name, "Agent");
    assert_eq!(o.delivery.unwrap().status, DeliveryStatus::Queued);
    assert!(
        store
            .offer(c, OfferId::new_random())
            .await
            .unwrap()
            .is_none()
    );

    let joined = store.accept_offer_live("o-1", ann, 300, MAX).await.unwrap();
    assert_eq!(
        (joined.role, joined.previous, joined.already_member),
        (MemberRole::Editor, None, false)
    );
    assert_eq!(joined.inviter, (agent, "Agent".to_owned()));
    let again = store.accept_offer_live("o-1", ann, 301, MAX).await.unwrap();
    assert!(again.already_member);
    assert!(matches!(
        store.accept_offer_live("o-1", bob, 302, MAX).await,
        Err(JoinError::UsedUp)
    ));
    let copy = CartId::new_random();
    assert!(matches!(
        store.mark_offer_copied("o-1", bob, copy, 303).await,
        Err(JoinError::UsedUp)
    ));
    let taken = store.offer_by_token("o-1").await.unwrap().unwrap();
    assert_eq!(taken.accepted_by, Some((ann, "Ann".to_owned())));
    assert_eq!(
        (taken.accepted_at, taken.accepted_as),
        (Some(300), Some(OfferMode::Live))
    );

    store
        .mark_offer_copied("o-2", bob, copy, 400)
        .await
        .unwrap();
    let copied = store.offer_by_token("o-2").await.unwrap().unwrap();
    assert_eq!(
        (copied.accepted_as, copied.copy_cart),
        (Some(OfferMode::Copy), Some(copy))
    );
    // Taken as a copy by Bob: taking it live (even by Bob) is refused.
    assert!(matches!(
        store.accept_offer_live("o-2", bob, 401, MAX).await,
        Err(JoinError::UsedUp)
    ));

    offer(&store, c, agent, "o-3", 500).await;
    assert!(matches!(
        store.accept_offer_live("o-3", bob, 1_000, MAX).await,
        Err(JoinError::Expired)
    ));
    assert!(matches!(
        store.mark_offer_copied("o-3", bob, copy, 1_000).await,
        Err(JoinError::UsedUp)
    ));
    assert!(matches!(
        store.accept_offer_live("nope", bob, 1, MAX).await,
        Err(JoinError::NotFound)
    ));
    assert!(store.offer_by_token("nope").await.unwrap().is_none());
}

/// Customers take one offer at once, some live, some as a copy: exactly
/// one wins, and only a live winner becomes a member.
#[tokio::test]
async fn an_offer_taken_at_once_is_taken_once() {
    let Some(store) = crate::store::postgres::testing::fresh().await else {
        return;
    };
    let agent = user(&store, "Agent").await;
    for round in 0..5 {
        let c = cart(&store, agent).await;
        let token = format!("race-{round}");
        offer(&store, c, agent, &token, 100).await;
        let mut users = Vec::new();
        for _ in 0..6 {
            users.push(user(&store, "Shopper").await);
        }
        let live = users[..3]
            .iter()
            .map(|u| store.accept_offer_live(&token, *u, 200, MAX));
        let copies = users[3..]
            .iter()
            .map(|u| store.mark_offer_copied(&token, *u, CartId::new_random(), 200));
        let (live, copies) = tokio::join!(
            futures_util::future::join_all(live),
            futures_util::future::join_all(copies)
        );
        let live_won = live.iter().filter(|r| r.is_ok()).count();
        let copy_won = copies.iter().filter(|r| r.is_ok()).count();
        assert_eq!(live_won + copy_won, 1, "{live:?} {copies:?}");
        assert!(
            live.iter()
                .chain_errs()
                .all(|e| matches!(e, JoinError::UsedUp))
        );
        assert_eq!(member_count(&store, c).await, 1 + live_won as i64);
    }
}

/// The errors of a list of results.
trait ChainErrs<'a> {
    fn chain_errs(self) -> impl Iterator<Item = &'a JoinError>;
}

impl<'a, T: 'a, I: Iterator<Item = &'a Result<T, JoinError>>> ChainErrs<'a> for I {
    fn chain_errs(self) -> impl Iterator<Item = &'a JoinError> {
        self.filter_map(|r| r.as_ref().err())
    }
}
