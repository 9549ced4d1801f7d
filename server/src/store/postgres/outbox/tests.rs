//! The outbox on Postgres: claims that no two workers share, that expire
//! when their node dies and that an attempt's outcome releases; e-mails
//! queued once however many nodes queue them.

use std::collections::HashSet;
use std::sync::Arc;

use cartroom_protocol::UserId;
use cartroom_protocol::http::User;
use tokio::sync::Barrier;

use super::{MAIL_CLAIM_BATCH, MAIL_CLAIM_MS};
use crate::store::Accounts;
use crate::store::postgres::PgStore;
use crate::store::postgres::testing::fresh;
use crate::store::sharing::{MailPurpose, NewMail, NewReset, Outbox, PasswordResets};

const NOW: i64 = 1_800_000_000_000;

fn mail(ref_id: &str, now_ms: i64) -> NewMail {
    NewMail {
        purpose: MailPurpose::StoreShare,
        ref_id: ref_id.into(),
        recipient: "owner@example.com".into(),
        subject: format!("Shared {ref_id}"),
        text: "text".into(),
        html: "<p>html</p>".into(),
        now_ms,
    }
}

/// Queues `n` e-mails, due one millisecond apart from `NOW`.
async fn queue(store: &PgStore, n: usize) {
    let mails: Vec<NewMail> = (0..n)
        .map(|i| mail(&format!("share-{i}"), NOW + i as i64))
        .collect();
    assert_eq!(store.queue_mail_once(&mails).await.unwrap(), n);
}

#[tokio::test]
async fn due_mail_is_oldest_first_and_bounded() {
    let Some(store) = fresh().await else { return };
    assert_eq!(store.next_mail_due().await.unwrap(), None);
    // Queued newest first: the order comes from next_attempt_at, not ids.
    for i in (0..5).rev() {
        store
            .queue_mail_once(&[mail(&format!("r{i}"), NOW + i)])
            .await
            .unwrap();
    }
    assert_eq!(store.next_mail_due().await.unwrap(), Some(NOW));
    // Only what is due at the time asked.
    let due = store.due_mail(NOW + 2, 10).await.unwrap();
    let refs: Vec<&str> = due.iter().map(|m| m.ref_id.as_str()).collect();
    assert_eq!(refs, ["r0", "r1", "r2"]);
    assert_eq!(due[0].subject, "Shared r0");
    assert_eq!(due[0].attempts, 0);
    let due = store.due_mail(NOW + 10, 1).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].ref_id, "r3");
}

/// One call claims a bounded batch, however many are due: the worker comes
/// back for the rest at once, since they are due.
#[tokio::test]
async fn one_claim_takes_a_bounded_batch() {
    let Some(store) = fresh().await else { return };
    queue(&store, MAIL_CLAIM_BATCH + 3).await;
    let first = store.due_mail(NOW + 100, 32).await.unwrap();
    assert_eq!(first.len(), MAIL_CLAIM_BATCH);
    assert_eq!(
        store.next_mail_due().await.unwrap(),
        Some(NOW + MAIL_CLAIM_BATCH as i64)
    );
    let rest = store.due_mail(NOW + 100, 32).await.unwrap();
    assert_eq!(rest.len(), 3);
    assert!(first.iter().all(|a| rest.iter().all(|b| a.id != b.id)));
}

#[tokio::test]
async fn a_claim_hides_the_mail_until_released_or_expired() {
    let Some(store) = fresh().await else { return };
    queue(&store, 1).await;
    let first = store.due_mail(NOW, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    let id = first[0].id;

    // Another node, now or until the claim ends, gets nothing, and is
    // told to look again when the claim ends, not at once.
    assert!(store.due_mail(NOW, 10).await.unwrap().is_empty());
    assert!(
        store
            .due_mail(NOW + MAIL_CLAIM_MS - 1, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.next_mail_due().await.unwrap(),
        Some(NOW + MAIL_CLAIM_MS)
    );

    // The claiming node died: the claim expires, another node takes it.
    let again = store.due_mail(NOW + MAIL_CLAIM_MS, 10).await.unwrap();
    assert_eq!(again.iter().map(|m| m.id).collect::<Vec<_>>(), [id]);

    // A failed attempt releases it for its retry, on any node.
    let later = NOW + MAIL_CLAIM_MS;
    store
        .mail_failed(id, "refused", Some(later + 2_000))
        .await
        .unwrap();
    assert_eq!(store.next_mail_due().await.unwrap(), Some(later + 2_000));
    assert!(store.due_mail(later + 1_999, 10).await.unwrap().is_empty());
    let retry = store.due_mail(later + 2_000, 10).await.unwrap();
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].attempts, 1);

    // Sent: nothing waits any more.
    store.mail_sent(id, later + 2_001).await.unwrap();
    assert_eq!(store.next_mail_due().await.unwrap(), None);
    assert!(store.due_mail(i64::MAX, 10).await.unwrap().is_empty());
    let (status, attempts, claimed): (String, i64, i64) =
        sqlx::query_as("SELECT status, attempts, claimed_until FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_one(&store.pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts, claimed), ("sent", 2, 0));
}

#[tokio::test]
async fn a_given_up_or_cancelled_mail_is_never_due() {
    let Some(store) = fresh().await else { return };
    queue(&store, 2).await;
    let due = store.due_mail(NOW + 1, 10).await.unwrap();
    store.mail_failed(due[0].id, "bounced", None).await.unwrap();
    store.mail_cancelled(due[1].id).await.unwrap();
    assert_eq!(store.next_mail_due().await.unwrap(), None);
    assert!(store.due_mail(i64::MAX, 10).await.unwrap().is_empty());
}

/// Workers of several nodes drain one outbox at once: every e-mail is
/// claimed by exactly one of them.
#[tokio::test]
async fn racing_workers_never_claim_one_mail_twice() {
    let Some(store) = fresh().await else { return };
    const MAILS: usize = 120;
    const WORKERS: usize = 6;
    queue(&store, MAILS).await;
    let store = Arc::new(store);
    let start = Arc::new(Barrier::new(WORKERS));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (store, start) = (store.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                let mut mine = Vec::new();
                loop {
                    let due = store.due_mail(NOW + MAILS as i64, 4).await.unwrap();
                    if due.is_empty() {
                        return mine;
                    }
                    mine.extend(due.into_iter().map(|m| m.id));
                }
            })
        })
        .collect();
    let mut seen = HashSet::new();
    let mut claimed = 0;
    for worker in workers {
        for id in worker.await.unwrap() {
            claimed += 1;
            assert!(seen.insert(id), "e-mail {id} claimed twice");
        }
    }
    assert_eq!(claimed, MAILS);
}

/// Two nodes' deadline timers queue the same reminders at once: they go
/// out once.
#[tokio::test]
async fn racing_queue_mail_once_queues_once() {
    let Some(store) = fresh().await else { return };
    let store = Arc::new(store);
    const CALLERS: usize = 4;
    let mails: Vec<NewMail> = (0..5)
        .map(|i| NewMail {
            purpose: MailPurpose::DeadlineReminder,
            ..mail(&format!("cart@{i}"), NOW)
        })
        .collect();
    let start = Arc::new(Barrier::new(CALLERS));
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (store, start, mails) = (store.clone(), start.clone(), mails.clone());
            tokio::spawn(async move {
                start.wait().await;
                store.queue_mail_once(&mails).await.unwrap()
            })
        })
        .collect();
    let mut queued = 0;
    for caller in callers {
        queued += caller.await.unwrap();
    }
    assert_eq!(queued, mails.len());
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(rows, 5);
    // Another recipient of the same cause is another e-mail.
    let other = NewMail {
        recipient: "bo@example.com".into(),
        ..mails[0].clone()
    };
    assert_eq!(
        store
            .queue_mail_once(&[other, mails[1].clone()])
            .await
            .unwrap(),
        1
    );
}

/// The worker mints a reset's token while another transaction holds the
/// reset and cancels its e-mail (the order of a resend or a revoke): the
/// worker waits, then finds the e-mail cancelled; neither deadlocks.
#[tokio::test]
async fn minting_waits_for_a_cancel_instead_of_deadlocking() {
    let Some(store) = fresh().await else { return };
    let ana = User {
        id: UserId::new_random(),
        email: Some("ana@example.com".into()),
        name: "Ana".into(),
        guest: false,
    };
    store.insert_user(&ana, Some("h"), 0).await.unwrap();
    let reset = NewReset {
        id: "r".into(),
        user: ana.id,
        now_ms: NOW,
        expires_at: NOW + 3_600_000,
    };
    let queued = NewMail {
        purpose: MailPurpose::PasswordReset,
        ..mail("r", NOW)
    };
    store.create_reset(&reset, &queued).await.unwrap();
    let due = store.due_mail(NOW, 10).await.unwrap().remove(0);
    let store = Arc::new(store);

    let mut other = store.pool.begin().await.unwrap();
    let other_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *other)
        .await
        .unwrap();
    sqlx::query("SELECT 1 FROM password_resets WHERE id = 'r' FOR UPDATE")
        .execute(&mut *other)
        .await
        .unwrap();
    let minting = tokio::spawn({
        let store = store.clone();
        async move { store.mint_mail_token(&due, "hash", NOW).await }
    });
    // Until the worker waits on the other transaction.
    loop {
        let waits: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)))",
        )
        .bind(other_pid)
        .fetch_one(&store.pool)
        .await
        .unwrap();
        if waits {
            break;
        }
        tokio::task::yield_now().await;
    }
    sqlx::query(
        "UPDATE outbox SET status = 'cancelled', next_attempt_at = NULL
         WHERE purpose = 'password_reset' AND ref_id = 'r'",
    )
    .execute(&mut *other)
    .await
    .unwrap();
    other.commit().await.unwrap();
    assert!(!minting.await.unwrap().unwrap(), "cancelled meanwhile");
    let token: Option<String> =
        sqlx::query_scalar("SELECT token_hash FROM password_resets WHERE id = 'r'")
            .fetch_one(&store.pool)
            .await
            .unwrap();
    assert_eq!(token, None);
}
