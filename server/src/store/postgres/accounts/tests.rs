//! Accounts, sessions and password resets on Postgres, as on SQLite, with
//! two resets of one account used at once.

use std::sync::Arc;

use cartroom_protocol::UserId;
use cartroom_protocol::http::User;
use tokio::sync::Barrier;

use crate::store::postgres::PgStore;
use crate::store::postgres::testing::fresh;
use crate::store::sharing::{MailPurpose, NewMail, NewReset, Outbox, PasswordResets};
use crate::store::{Accounts, Sessions};

fn person(email: Option<&str>, name: &str, guest: bool) -> User {
    User {
        id: UserId::new_random(),
        email: email.map(Into::into),
        name: name.into(),
        guest,
    }
}

#[tokio::test]
async fn accounts_keep_e_mails_unique() {
    let Some(store) = fresh().await else { return };
    let ana = person(Some("ana@example.com"), "Ana", false);
    assert!(store.insert_user(&ana, Some("h1"), 1).await.unwrap());
    assert!(
        !store.insert_user(&ana, Some("h1"), 1).await.unwrap(),
        "same id"
    );
    let twin = person(Some("ana@example.com"), "Twin", false);
    assert!(
        !store.insert_user(&twin, None, 1).await.unwrap(),
        "e-mail taken"
    );
    let (found, hash) = store
        .user_by_email("ana@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, ana);
    assert_eq!(hash.as_deref(), Some("h1"));
    assert!(
        store
            .user_by_email("bo@example.com")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.user_name(ana.id).await.unwrap().as_deref(),
        Some("Ana")
    );
    assert_eq!(store.user_name(UserId::new_random()).await.unwrap(), None);

    // A guest keeps its id when it signs up, unless the e-mail is taken.
    let guest = person(None, "Guest", true);
    assert!(store.insert_user(&guest, None, 1).await.unwrap());
    assert!(
        !store
            .upgrade_guest(guest.id, "ana@example.com", "G", "h2")
            .await
            .unwrap()
    );
    assert!(
        store
            .upgrade_guest(guest.id, "g@example.com", "Gil", "h2")
            .await
            .unwrap()
    );
    let (upgraded, hash) = store.user_by_email("g@example.com").await.unwrap().unwrap();
    assert_eq!(
        (upgraded.id, upgraded.guest, upgraded.name.as_str()),
        (guest.id, false, "Gil")
    );
    assert_eq!(hash.as_deref(), Some("h2"));
    // Only a guest is upgraded.
    assert!(
        !store
            .upgrade_guest(ana.id, "new@example.com", "A", "h3")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn sessions_expire() {
    let Some(store) = fresh().await else { return };
    let ana = person(None, "Ana", true);
    store.insert_user(&ana, None, 0).await.unwrap();
    store.insert_session("s1", ana.id, 0, 100).await.unwrap();
    store.insert_session("s2", ana.id, 0, 200).await.unwrap();
    assert_eq!(
        store.session_user("s1", 99).await.unwrap(),
        Some(ana.clone())
    );
    assert_eq!(store.session_user("s1", 100).await.unwrap(), None);
    assert_eq!(store.delete_expired_sessions(100).await.unwrap(), 1);
    assert_eq!(store.delete_expired_sessions(100).await.unwrap(), 0);
    store.delete_session("s2").await.unwrap();
    assert_eq!(store.session_user("s2", 0).await.unwrap(), None);
}

/// A registered user with a session, and a reset asked for at 1000
/// (its e-mail queued with it) whose token the worker minted.
async fn reset_of(store: &PgStore, user: &User, id: &str, token: &str) {
    let reset = NewReset {
        id: id.into(),
        user: user.id,
        now_ms: 1_000,
        expires_at: 10_000,
    };
    let mail = NewMail {
        purpose: MailPurpose::PasswordReset,
        ref_id: id.into(),
        recipient: user.email.clone().unwrap(),
        subject: "Reset".into(),
        text: "t".into(),
        html: "h".into(),
        now_ms: 1_000,
    };
    store.create_reset(&reset, &mail).await.unwrap();
    let due = store.due_mail(1_000, 100).await.unwrap();
    let queued = due
        .iter()
        .find(|m| m.ref_id == id)
        .expect("queued with the reset");
    assert!(store.mint_mail_token(queued, token, 1_000).await.unwrap());
    store.mail_sent(queued.id, 1_000).await.unwrap();
}

#[tokio::test]
async fn a_reset_is_used_once_and_ends_sessions() {
    let Some(store) = fresh().await else { return };
    let ana = person(Some("ana@example.com"), "Ana", false);
    store.insert_user(&ana, Some("old"), 0).await.unwrap();
    store.insert_session("s", ana.id, 0, 100_000).await.unwrap();
    reset_of(&store, &ana, "r1", "tok1").await;
    reset_of(&store, &ana, "r2", "tok2").await;
    assert_eq!(store.use_reset("nope", "new", 2_000).await.unwrap(), None);
    assert_eq!(
        store.use_reset("tok1", "new", 10_000).await.unwrap(),
        None,
        "expired"
    );

    assert_eq!(
        store.use_reset("tok1", "new", 2_000).await.unwrap(),
        Some(ana.clone())
    );
    let (_, hash) = store
        .user_by_email("ana@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hash.as_deref(), Some("new"));
    assert_eq!(store.session_user("s", 2_000).await.unwrap(), None);
    assert_eq!(
        store.use_reset("tok1", "again", 2_000).await.unwrap(),
        None,
        "once"
    );
    assert_eq!(
        store.use_reset("tok2", "again", 2_000).await.unwrap(),
        None,
        "died with it"
    );

    // A used reset's e-mail is not sent (no token is minted for it).
    let mail = NewMail {
        purpose: MailPurpose::PasswordReset,
        ref_id: "r2".into(),
        recipient: "ana@example.com".into(),
        subject: "Reset".into(),
        text: "t".into(),
        html: "h".into(),
        now_ms: 3_000,
    };
    assert_eq!(
        store.queue_mail_once(&[mail]).await.unwrap(),
        0,
        "r2 has one already"
    );
}

/// Two resets of one account used at the same instant: one sets the
/// password, the other finds its reset used; neither fails.
#[tokio::test]
async fn two_resets_of_one_account_used_at_once() {
    let Some(store) = fresh().await else { return };
    let store = Arc::new(store);
    for round in 0..8 {
        let email = format!("ana{round}@example.com");
        let ana = person(Some(&email), "Ana", false);
        store.insert_user(&ana, Some("old"), 0).await.unwrap();
        let (t1, t2) = (format!("a{round}"), format!("b{round}"));
        reset_of(&store, &ana, &format!("r{round}a"), &t1).await;
        reset_of(&store, &ana, &format!("r{round}b"), &t2).await;
        let start = Arc::new(Barrier::new(2));
        let run = |token: String, password: &'static str| {
            let (store, start) = (store.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                store.use_reset(&token, password, 2_000).await.unwrap()
            })
        };
        let (a, b) = (run(t1, "pa"), run(t2, "pb"));
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        assert_eq!(
            [a.is_some(), b.is_some()].iter().filter(|x| **x).count(),
            1,
            "round {round}"
        );
        let (_, hash) = store.user_by_email(&email).await.unwrap().unwrap();
        let winner = if a.is_some() { "pa" } else { "pb" };
        assert_eq!(hash.as_deref(), Some(winner));
    }
}
