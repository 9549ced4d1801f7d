//! Invitations and share links on Postgres: the trait's answers as on
//! SQLite, and the rules that must hold when several callers (nodes) join
//! with one token at once.

use cartroom_protocol::sharing::{DeliveryStatus, InvitationId, LinkId};
use cartroom_protocol::{CartId, MemberRole, UserId};

use super::super::PgStore;
use super::super::join::testing::{cart, member_count, role, user};
use crate::store::sharing::{JoinError, MailPurpose, NewInvitation, NewLink, NewMail, Sharing};

const MAX: usize = 20;

fn mail(purpose: MailPurpose, ref_id: &str, now_ms: i64) -> NewMail {
    NewMail {
        purpose,
        ref_id: ref_id.to_owned(),
        recipient: "guest@example.com".to_owned(),
        subject: "Join".to_owned(),
        text: "text".to_owned(),
        html: "html".to_owned(),
        now_ms,
    }
}

/// An invitation to `cart` as `role`, its token minted as `token`.
async fn invite(
    store: &PgStore,
    cart: CartId,
    by: UserId,
    role: MemberRole,
    token: &str,
) -> InvitationId {
    let id = InvitationId::new_random();
    let inv = NewInvitation {
        id,
        cart,
        email: "guest@example.com".to_owned(),
        message: "come".to_owned(),
        role,
        invited_by: by,
        now_ms: 100,
        expires_at: 1_000,
    };
    let m = mail(MailPurpose::Invitation, &id.to_string(), 100);
    store.create_invitation(&inv, &m).await.unwrap();
    sqlx::query("UPDATE invitations SET token_hash = $1 WHERE id = $2")
        .bind(token)
        .bind(id.to_string())
        .execute(&store.pool)
        .await
        .unwrap();
    id
}

async fn link(
    store: &PgStore,
    cart: CartId,
    by: UserId,
    role: MemberRole,
    max_uses: Option<u32>,
    token: &str,
) -> LinkId {
    let id = LinkId::new_random();
    let new = NewLink {
        id,
        cart,
        role,
        created_by: by,
        now_ms: 100,
        expires_at: 1_000,
        token_hash: token.to_owned(),
        max_uses,
    };
    store.create_link(&new).await.unwrap();
    id
}

#[tokio::test]
async fn invitations_are_sent_resent_accepted_declined_and_revoked() {
    let Some(store) = crate::store::postgres::testing::fresh().await else {
        return;
    };
    let ann = user(&store, "Ann").await;
    let bob = user(&store, "Bob").await;
    let cy = user(&store, "Cy").await;
    let c = cart(&store, ann).await;
    assert_eq!(store.cart_name(c).await.unwrap().as_deref(), Some("Picnic"));
    assert_eq!(store.cart_name(CartId::new_random()).await.unwrap(), None);

    let id = invite(&store, c, ann, MemberRole::Editor, "tok-1").await;
    let inv = store.invitation(c, id).await.unwrap().unwrap();
    assert_eq!(inv.invited_by_name, "Ann");
    assert_eq!(
        inv.delivery.as_ref().unwrap().status,
        DeliveryStatus::Queued
    );

    // A resend cancels the e-mail not sent yet and queues another.
    let again = mail(MailPurpose::Invitation, &id.to_string(), 200);
    assert!(store.requeue_invitation(c, id, &again).await.unwrap());
    assert!(
        !store
            .requeue_invitation(c, InvitationId::new_random(), &again)
            .await
            .unwrap()
    );
    let statuses: Vec<String> =
        sqlx::query_scalar("SELECT status FROM outbox WHERE ref_id = $1 ORDER BY id")
            .bind(id.to_string())
            .fetch_all(&store.pool)
            .await
            .unwrap();
    assert_eq!(statuses, ["cancelled", "queued"]);

    assert!(matches!(
        store.accept_invitation("nope", bob, 300, MAX).await,
        Err(JoinError::NotFound)
    ));
    let joined = store
        .accept_invitation("tok-1", bob, 300, MAX)
        .await
        .unwrap();
    assert_eq!(
        (joined.cart, joined.role, joined.previous),
        (c, MemberRole::Editor, None)
    );
    assert!(!joined.already_member);
    assert_eq!(joined.inviter, (ann, "Ann".to_owned()));
    // The same person again changes nothing; someone else finds it used.
    let twice = store
        .accept_invitation("tok-1", bob, 301, MAX)
        .await
        .unwrap();
    assert!(twice.already_member);
    assert_eq!(twice.previous, Some(MemberRole::Editor));
    assert!(matches!(
        store.accept_invitation("tok-1", cy, 302, MAX).await,
        Err(JoinError::UsedUp)
    ));
    assert!(matches!(
        store.decline_invitation("tok-1", 303).await,
        Err(JoinError::UsedUp)
    ));
    let by_token = store.invitation_by_token("tok-1").await.unwrap().unwrap();
    assert_eq!(by_token.accepted_by, Some((bob, "Bob".to_owned())));
    assert_eq!(by_token.accepted_at, Some(300));

    // Declining twice is one decline; a declined one cannot be accepted.
    invite(&store, c, ann, MemberRole::Viewer, "tok-2").await;
    assert_eq!(
        store
            .decline_invitation("tok-2", 400)
            .await
            .unwrap()
            .declined_at,
        Some(400)
    );
    assert_eq!(
        store
            .decline_invitation("tok-2", 401)
            .await
            .unwrap()
            .declined_at,
        Some(400)
    );
    assert!(matches!(
        store.accept_invitation("tok-2", cy, 402, MAX).await,
        Err(JoinError::UsedUp)
    ));

    // Revoked (once, its e-mail cancelled), then expired.
    let id3 = invite(&store, c, ann, MemberRole::Viewer, "tok-3").await;
    assert!(store.revoke_invitation(c, id3, 500).await.unwrap());
    assert!(store.revoke_invitation(c, id3, 501).await.unwrap());
    assert_eq!(
        store.invitation(c, id3).await.unwrap().unwrap().revoked_at,
        Some(500)
    );
    let d = store
        .invitation(c, id3)
        .await
        .unwrap()
        .unwrap()
        .delivery
        .unwrap();
    assert_eq!(d.status, DeliveryStatus::Cancelled);
    assert!(matches!(
        store.accept_invitation("tok-3", cy, 502, MAX).await,
        Err(JoinError::Revoked)
    ));
    assert!(
        !store
            .revoke_invitation(c, InvitationId::new_random(), 1)
            .await
            .unwrap()
    );
    invite(&store, c, ann, MemberRole::Viewer, "tok-4").await;
    assert!(matches!(
        store.accept_invitation("tok-4", cy, 1_000, MAX).await,
        Err(JoinError::Expired)
    ));
    assert!(matches!(
        store.decline_invitation("tok-4", 1_000).await,
        Err(JoinError::Expired)
    ));

    // An invitation never lowers a role.
    invite(&store, c, ann, MemberRole::Viewer, "tok-5").await;
    let kept = store
        .accept_invitation("tok-5", bob, 600, MAX)
        .await
        .unwrap();
    assert_eq!(
        (kept.role, kept.previous, kept.already_member),
        (MemberRole::Editor, Some(MemberRole::Editor), true)
    );
    assert_eq!(store.invitations(c).await.unwrap().len(), 5);
}

#[tokio::test]
async fn links_count_their_uses() {
    let Some(store) = crate::store::postgres::testing::fresh().await else {
        return;
    };
    let ann = user(&store, "Ann").await;
    let bob = user(&store, "Bob").await;
    let cy = user(&store, "Cy").await;
    let c = cart(&store, ann).await;
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, store_id, url, events, secret, created_at)
         VALUES ('e1', 'demo', 'https://example.com', '[\"share.accepted\"]', 's', 1)",
    )
    .execute(&store.pool)
    .await
    .unwrap();
    let id = link(&store, c, ann, MemberRole::Viewer, Some(1), "l-1").await;
    let joined = store.accept_link("l-1", bob, 200, MAX).await.unwrap();
    assert_eq!(
        (joined.role, joined.previous, joined.already_member),
        (MemberRole::Viewer, None, false)
    );
    let again = store.accept_link("l-1", bob, 201, MAX).await.unwrap();
    assert!(again.already_member, "the same user uses nothing");
    assert!(matches!(
        store.accept_link("l-1", cy, 202, MAX).await,
        Err(JoinError::UsedUp)
    ));
    // An admin already has more than the link gives: no use taken.
    let admin = store.accept_link("l-1", ann, 203, MAX).await.unwrap();
    assert_eq!(
        (admin.role, admin.already_member),
        (MemberRole::Admin, true)
    );
    let l = store.link(c, id).await.unwrap().unwrap();
    assert_eq!(
        (l.uses, l.max_uses, l.created_by_name.as_str()),
        (1, Some(1), "Ann")
    );
    let events: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM webhook_events WHERE type = 'share.accepted'")
            .fetch_one(&store.pool)
            .await
            .unwrap();
    assert_eq!(events, 1, "share.accepted committed with the member");

    // A member removed since does not come back with the link.
    sqlx::query("DELETE FROM members WHERE user_id = $1")
        .bind(bob.to_string())
        .execute(&store.pool)
        .await
        .unwrap();
    assert!(matches!(
        store.accept_link("l-1", bob, 204, MAX).await,
        Err(JoinError::UsedUp)
    ));

    let open = link(&store, c, ann, MemberRole::Editor, None, "l-2").await;
    assert!(store.revoke_link(c, open, 300).await.unwrap());
    assert!(store.revoke_link(c, open, 301).await.unwrap());
    assert_eq!(
        store
            .link_by_token("l-2")
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(300)
    );
    assert!(matches!(
        store.accept_link("l-2", cy, 302, MAX).await,
        Err(JoinError::Revoked)
    ));
    assert!(!store.revoke_link(c, LinkId::new_random(), 1).await.unwrap());
    link(&store, c, ann, MemberRole::Editor, None, "l-3").await;
    assert!(matches!(
        store.accept_link("l-3", cy, 1_000, MAX).await,
        Err(JoinError::Expired)
    ));
    assert!(matches!(
        store.accept_link("nope", cy, 1, MAX).await,
        Err(JoinError::NotFound)
    ));
    // The member limit: the cart has Ann only; a limit of one refuses Cy.
    assert!(matches!(
        store.accept_link("l-3", cy, 500, 1).await,
        Err(JoinError::TooMany(1))
    ));
    let links = store.links(c).await.unwrap();
    assert_eq!(links.len(), 3);
}

/// Eight users open a one-use link at once: one joins, seven find it used
/// up, and the link counts one use.
#[tokio::test]
async fn a_one_use_link_opened_at_once_makes_one_member() {
    let Some(store) = crate::store::postgres::testing::fresh().await else {
        return;
    };
    let ann = user(&store, "Ann").await;
    for round in 0..5 {
        let c = cart(&store, ann).await;
        let token = format!("once-{round}");
        let id = link(&store, c, ann, MemberRole::Editor, Some(1), &token).await;
        let mut users = Vec::new();
        for _ in 0..8 {
            users.push(user(&store, "Guest").await);
        }
        let tries = users
            .iter()
            .map(|u| store.accept_link(&token, *u, 200, MAX));
        let results = futures_util::future::join_all(tries).await;
        let joined = results.iter().filter(|r| r.is_ok()).count();
        let used_up = results
            .iter()
            .filter(|r| matches!(r, Err(JoinError::UsedUp)))
            .count();
        assert_eq!((joined, used_up), (1, 7), "{results:?}");
        assert_eq!(store.link(c, id).await.unwrap().unwrap().uses, 1);
        assert_eq!(member_count(&store, c).await, 2);
    }
}

/// Two users accept one invitation at once: one joins, one finds it used.
/// Six users join with an unlimited link at once with room for two more:
/// two join, four are refused, and the cart holds the limit.
#[tokio::test]
async fn one_invitation_and_the_member_limit_hold_at_once() {
    let Some(store) = crate::store::postgres::testing::fresh().await else {
        return;
    };
    let ann = user(&store, "Ann").await;
    for round in 0..5 {
        let c = cart(&store, ann).await;
        let token = format!("inv-{round}");
        invite(&store, c, ann, MemberRole::Editor, &token).await;
        let (bob, cy) = (user(&store, "Bob").await, user(&store, "Cy").await);
        let (a, b) = tokio::join!(
            store.accept_invitation(&token, bob, 200, MAX),
            store.accept_invitation(&token, cy, 200, MAX)
        );
        assert_eq!(a.is_ok() as u8 + b.is_ok() as u8, 1, "{a:?} {b:?}");
        assert!(matches!(a, Err(JoinError::UsedUp)) || matches!(b, Err(JoinError::UsedUp)));
        assert_eq!(member_count(&store, c).await, 2);

        let token = format!("many-{round}");
        link(&store, c, ann, MemberRole::Viewer, None, &token).await;
        let mut users = Vec::new();
        for _ in 0..6 {
            users.push(user(&store, "Guest").await);
        }
        let tries = users.iter().map(|u| store.accept_link(&token, *u, 300, 4));
        let results = futures_util::future::join_all(tries).await;
        let joined = results.iter().filter(|r| r.is_ok()).count();
        let refused = results
            .iter()
            .filter(|r| matches!(r, Err(JoinError::TooMany(4))))
            .count();
        assert_eq!((joined, refused), (2, 4), "{results:?}");
        assert_eq!(member_count(&store, c).await, 4);
        for u in &users {
            let r = role(&store, c, *u).await;
            assert!(r.is_none() || r == Some(MemberRole::Viewer));
        }
    }
}
