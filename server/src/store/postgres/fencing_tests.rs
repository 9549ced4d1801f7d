//! Leases and fencing on Postgres, with two nodes' stores on one schema:
//! one owner per cart, and a node that lost its lease cannot write.

use std::time::Duration;

use cartroom_protocol::{ActivityEvent, CartId, OpId, UserId};

use super::PgStore;
use super::testing::{fresh_url, open};
use crate::store::{Acquired, CartHooks, ChangeLog, ChangeRecord, CommitError, Leases, LoadLimits};

const TTL: Duration = Duration::from_secs(30);
const LIMITS: LoadLimits = LoadLimits {
    op_memory: 10,
    activity_memory: 10,
};

/// Two nodes on one fresh schema, and a cart with its first base.
async fn two_nodes() -> Option<(PgStore, PgStore, CartId, UserId)> {
    let url = fresh_url().await?;
    let a = open(&url, "node-a").await;
    let b = open(&url, "node-b").await;
    let cart = CartId::new_random();
    let user = UserId::new_random();
    for sql in [
        "INSERT INTO stores (id, name, currency) VALUES ('s1', 'Shop', 'USD')",
        "INSERT INTO users (id, name, is_guest, created_at) VALUES ($2, 'Ana', TRUE, 0)",
        "INSERT INTO carts (id, store_id, name, created_by, created_at, updated_at)
         VALUES ($1, 's1', 'Picnic', $2, 0, 0)",
        "INSERT INTO epochs (cart_id, epoch, start_seq, base_seq, started_at, saved_at, bytes)
         VALUES ($1, 0, 0, 0, 0, 0, '\\x00')",
    ] {
        sqlx::query(sql)
            .bind(cart.to_string())
            .bind(user.to_string())
            .execute(&a.pool)
            .await
            .unwrap();
    }
    Some((a, b, cart, user))
}

fn change(cart: CartId, user: UserId, seq: i64, term: i64) -> ChangeRecord {
    ChangeRecord {
        cart_id: cart,
        seq,
        epoch: 0,
        term,
        bytes: format!("change-{seq}").into_bytes(),
        user_id: user,
        op_id: OpId(format!("op-{seq}")),
        activity: ActivityEvent {
            seq,
            at: seq,
            user_id: user,
            user_name: "Ana".into(),
            kind: "add_line".into(),
            text: "Ana added a line".into(),
            subtotal: 100,
            currency: "USD".into(),
        },
        line_count: 1,
        summary: None,
        hooks: CartHooks::default(),
    }
}

async fn held(store: &PgStore, cart: CartId, node: &str) -> i64 {
    match store.acquire(cart, node, TTL).await.unwrap() {
        Acquired::Held { term } => term,
        other => panic!("{node} did not get the lease: {other:?}"),
    }
}

/// Makes every lease of the cart lapse, as if its node had been paused.
async fn lapse(store: &PgStore, cart: CartId) {
    sqlx::query(
        "UPDATE cart_leases SET expires_at = now() - interval '1 second' WHERE cart_id = $1",
    )
    .bind(cart.to_string())
    .execute(&store.pool)
    .await
    .unwrap();
}

async fn stored_seqs(store: &PgStore, cart: CartId) -> Vec<i64> {
    sqlx::query_scalar("SELECT seq FROM changes WHERE cart_id = $1 ORDER BY seq")
        .bind(cart.to_string())
        .fetch_all(&store.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_lease_has_one_holder_until_it_lapses_or_is_given_up() {
    let Some((a, b, cart, _)) = two_nodes().await else {
        return;
    };
    assert_eq!(held(&a, cart, "node-a").await, 1);
    assert_eq!(
        b.acquire(cart, "node-b", TTL).await.unwrap(),
        Acquired::Elsewhere {
            node: "node-a".into()
        }
    );
    assert_eq!(b.owner(cart).await.unwrap().as_deref(), Some("node-a"));
    // A new room on the same node takes the next term, fencing the old one.
    assert_eq!(held(&a, cart, "node-a").await, 2);
    a.release(cart, "node-a", 2).await.unwrap();
    assert_eq!(b.owner(cart).await.unwrap(), None);
    assert_eq!(held(&b, cart, "node-b").await, 3);
    lapse(&b, cart).await;
    assert_eq!(held(&a, cart, "node-a").await, 4);
    assert_eq!(
        a.acquire(CartId::new_random(), "node-a", TTL)
            .await
            .unwrap(),
        Acquired::NoCart
    );
}

#[tokio::test]
async fn a_node_that_lost_its_lease_cannot_commit() {
    let Some((a, b, cart, user)) = two_nodes().await else {
        return;
    };
    let term_a = held(&a, cart, "node-a").await;
    a.append(change(cart, user, 1, term_a)).await.await.unwrap();
    // Node A is cut off until its lease lapses; node B takes the cart.
    lapse(&a, cart).await;
    let term_b = held(&b, cart, "node-b").await;
    let refused = a.append(change(cart, user, 2, term_a)).await.await;
    assert!(
        matches!(refused, Err(CommitError::LeaseLost)),
        "{refused:?}"
    );
    b.append(change(cart, user, 2, term_b)).await.await.unwrap();
    // A record of a term B no longer holds is refused too, even on B.
    assert!(matches!(
        b.append(change(cart, user, 3, term_a)).await.await,
        Err(CommitError::LeaseLost)
    ));
    assert_eq!(stored_seqs(&a, cart).await, vec![1, 2]);
    let state = b.load_cart(cart, LIMITS).await.unwrap().unwrap();
    assert_eq!(
        state.changes,
        vec![b"change-1".to_vec(), b"change-2".to_vec()]
    );
}

#[tokio::test]
async fn a_lapsed_lease_nobody_took_refuses_commits_until_renewed() {
    let Some((a, _b, cart, user)) = two_nodes().await else {
        return;
    };
    let term = held(&a, cart, "node-a").await;
    lapse(&a, cart).await;
    assert!(matches!(
        a.append(change(cart, user, 1, term)).await.await,
        Err(CommitError::LeaseLost)
    ));
    // Nobody else wrote meanwhile (same term): renewing it is safe.
    assert_eq!(
        a.renew("node-a", &[(cart, term)], TTL).await.unwrap(),
        vec![]
    );
    a.append(change(cart, user, 1, term)).await.await.unwrap();
    // Once another node took it, renewing tells the lease is lost.
    lapse(&a, cart).await;
    let b_term = match a.acquire(cart, "node-b", TTL).await.unwrap() {
        Acquired::Held { term } => term,
        other => panic!("{other:?}"),
    };
    assert_eq!(b_term, term + 1);
    assert_eq!(
        a.renew("node-a", &[(cart, term)], TTL).await.unwrap(),
        vec![cart]
    );
}

#[tokio::test]
async fn one_batch_commits_the_carts_it_holds_and_refuses_the_others() {
    let Some((a, b, cart, user)) = two_nodes().await else {
        return;
    };
    let term = held(&a, cart, "node-a").await;
    // Queue both at once so that they share a batch: B's lease-less
    // record fails alone.
    let mine = a.append(change(cart, user, 1, term)).await;
    let not_mine = b.append(change(cart, user, 1, term)).await;
    mine.await.unwrap();
    assert!(matches!(not_mine.await, Err(CommitError::LeaseLost)));
    assert_eq!(stored_seqs(&a, cart).await, vec![1]);
}

/// A node renews all its leases while its writer fences commits of the
/// same carts: both lock the rows in cart order, so they queue and never
/// deadlock (a deadlock stalls both for Postgres's `deadlock_timeout`,
/// then fails one).
#[tokio::test]
async fn renewing_leases_while_commits_fence_them_never_deadlocks() {
    let Some((a, _, first, user)) = two_nodes().await else {
        return;
    };
    let mut carts = vec![first];
    for _ in 0..40 {
        let cart = CartId::new_random();
        sqlx::query(
            "INSERT INTO carts (id, store_id, name, created_by, created_at, updated_at)
             VALUES ($1, 's1', 'Picnic', $2, 0, 0)",
        )
        .bind(cart.to_string())
        .bind(user.to_string())
        .execute(&a.pool)
        .await
        .unwrap();
        carts.push(cart);
    }
    let mut leases = Vec::new();
    for cart in &carts {
        leases.push((*cart, held(&a, *cart, "node-a").await));
    }
    let renew = async {
        for _ in 0..30 {
            let lost = a.renew("node-a", &leases, TTL).await.unwrap();
            assert!(lost.is_empty(), "{lost:?}");
        }
    };
    let fence = async {
        // The writer's batches name their carts in any order.
        let mut backwards = leases.clone();
        backwards.reverse();
        for round in 0..30 {
            let wanted = if round % 2 == 0 { &backwards } else { &leases };
            let mut tx = a.pool.begin().await.unwrap();
            let fenced = super::leases::fence(&mut tx, "node-a", wanted)
                .await
                .unwrap();
            assert_eq!(fenced.len(), wanted.len());
            tokio::task::yield_now().await;
            tx.commit().await.unwrap();
        }
    };
    tokio::join!(renew, fence);
}
