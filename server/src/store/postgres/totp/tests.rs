//! TOTP on Postgres: enrolment, replays refused, recovery codes used once,
//! including when two sign-ins race with the same step or code.

use super::super::join::testing::user;
use crate::store::totp::TwoFactor;

#[tokio::test]
async fn enrolment_steps_and_recovery_codes() {
    let Some(store) = crate::store::postgres::testing::fresh().await else {
        return;
    };
    let ann = user(&store, "Ann").await;
    assert!(store.totp(ann).await.unwrap().is_none());
    assert!(!store.use_totp_step(ann, 5).await.unwrap(), "not enrolled");

    assert!(store.set_pending_totp(ann, "AAAA", 1).await.unwrap());
    assert!(
        store.set_pending_totp(ann, "BBBB", 2).await.unwrap(),
        "replaces a pending one"
    );
    let pending = store.totp(ann).await.unwrap().unwrap();
    assert_eq!((pending.secret.as_str(), pending.enabled), ("BBBB", false));
    assert!(!store.use_totp_step(ann, 5).await.unwrap(), "not on yet");
    assert!(!store.use_recovery_code(ann, "r1", 3).await.unwrap());

    let codes = vec!["r1".to_owned(), "r2".to_owned()];
    assert!(store.enable_totp(ann, 10, &codes).await.unwrap());
    assert!(
        !store.enable_totp(ann, 11, &codes).await.unwrap(),
        "nothing pending"
    );
    assert!(
        !store.set_pending_totp(ann, "CCCC", 4).await.unwrap(),
        "on already"
    );
    let on = store.totp(ann).await.unwrap().unwrap();
    assert_eq!((on.secret.as_str(), on.enabled), ("BBBB", true));

    assert!(
        !store.use_totp_step(ann, 10).await.unwrap(),
        "the enrolling step"
    );
    assert!(
        !store.use_totp_step(ann, 9).await.unwrap(),
        "an earlier step"
    );
    assert!(store.use_totp_step(ann, 11).await.unwrap());
    assert!(!store.use_totp_step(ann, 11).await.unwrap(), "a replay");

    assert!(store.use_recovery_code(ann, "r1", 5).await.unwrap());
    assert!(
        !store.use_recovery_code(ann, "r1", 6).await.unwrap(),
        "used once"
    );
    assert!(!store.use_recovery_code(ann, "nope", 6).await.unwrap());

    store.disable_totp(ann).await.unwrap();
    assert!(store.totp(ann).await.unwrap().is_none());
    assert!(
        !store.use_recovery_code(ann, "r2", 7).await.unwrap(),
        "forgotten"
    );
    // Enrolling again starts from no step.
    assert!(store.set_pending_totp(ann, "DDDD", 8).await.unwrap());
    assert!(store.enable_totp(ann, 3, &[]).await.unwrap());
    assert!(store.use_totp_step(ann, 4).await.unwrap());
}

/// Many sign-ins with the same step, and with the same recovery code, at
/// once: exactly one of each passes.
#[tokio::test]
async fn the_same_step_or_code_at_once_passes_once() {
    let Some(store) = crate::store::postgres::testing::fresh().await else {
        return;
    };
    let ann = user(&store, "Ann").await;
    store.set_pending_totp(ann, "AAAA", 1).await.unwrap();
    let codes: Vec<String> = (0..10).map(|i| format!("code{i}")).collect();
    store.enable_totp(ann, 100, &codes).await.unwrap();
    for step in 101..111 {
        let tries = (0..8).map(|_| store.use_totp_step(ann, step));
        let passed = futures_util::future::join_all(tries).await;
        let passed = passed.into_iter().filter(|r| *r.as_ref().unwrap()).count();
        assert_eq!(passed, 1, "step {step}");
    }
    for code in &codes {
        let tries = (0..8).map(|i| store.use_recovery_code(ann, code, i));
        let passed = futures_util::future::join_all(tries).await;
        let passed = passed.into_iter().filter(|r| *r.as_ref().unwrap()).count();
        assert_eq!(passed, 1, "{code}");
    }
}
