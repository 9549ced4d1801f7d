//! Takeovers on Postgres: the trait's answers, and what concurrent callers
//! get (two agents asking for one cart, two takers of one help code, the
//! shopper and the agent ending a takeover at once).

use std::sync::Arc;

use cartroom_protocol::takeover::{Takeover, TakeoverGrant, TakeoverId, TakeoverStatus};
use cartroom_protocol::{CartId, UserId};
use tokio::sync::Barrier;

use super::super::PgStore;
use crate::store::takeover::{CustomerCart, HelpCode, Takeovers, Transition};

async fn exec(store: &PgStore, sql: &str) {
    sqlx::raw_sql(sql).execute(&store.pool).await.unwrap();
}

async fn user(store: &PgStore, name: &str, guest: bool) -> UserId {
    let id = UserId::new_random();
    sqlx::query("INSERT INTO users (id, name, is_guest, created_at) VALUES ($1, $2, $3, 0)")
        .bind(id.to_string())
        .bind(name)
        .bind(guest)
        .execute(&store.pool)
        .await
        .unwrap();
    id
}

/// A cart of `shop` made by `by` (a member) at `at`.
async fn cart(store: &PgStore, shop: &str, by: UserId, name: &str, at: i64) -> CartId {
    let id = CartId::new_random();
    sqlx::query(
        "INSERT INTO carts (id, store_id, name, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(id.to_string())
    .bind(shop)
    .bind(name)
    .bind(by.to_string())
    .bind(at)
    .execute(&store.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO members (cart_id, user_id, role, added_at) VALUES ($1, $2, 'admin', 0)",
    )
    .bind(id.to_string())
    .bind(by.to_string())
    .execute(&store.pool)
    .await
    .unwrap();
    id
}

/// The user has a conversation with the store's support desk.
async fn customer(store: &PgStore, shop: &str, user: UserId) {
    let customer = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO customers (id, store_id, user_id, name, created_at) VALUES ($1, $2, $3, 'c', 0)",
    )
    .bind(&customer)
    .bind(shop)
    .bind(user.to_string())
    .execute(&store.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO conversations (id, customer_id, store_id, user_id, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'open', 0, 0)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(&customer)
    .bind(shop)
    .bind(user.to_string())
    .execute(&store.pool)
    .await
    .unwrap();
}

fn requested(cart: CartId, agent: UserId, shopper: UserId) -> Takeover {
    Takeover {
        id: TakeoverId::new_random(),
        cart_id: cart,
        store_id: "demo".into(),
        agent_id: agent,
        agent_name: "Wade (support)".into(),
        shopper_id: shopper,
        status: TakeoverStatus::Requested,
        grant: TakeoverGrant::Consent,
        requested_at: 10,
        started_at: None,
        ended_at: None,
        ended_by: None,
    }
}

async fn fixture(store: &PgStore) -> (UserId, UserId, UserId) {
    exec(
        store,
        "INSERT INTO stores (id, name, currency) VALUES ('demo', 'Demo', 'EUR'), ('other', 'Other', 'EUR')",
    )
    .await;
    let shopper = user(store, "Sam", false).await;
    let wade = user(store, "Wade", false).await;
    let zoe = user(store, "Zoe", false).await;
    (shopper, wade, zoe)
}

#[tokio::test]
async fn facts_carts_and_the_life_of_a_takeover() {
    let Some(store) = crate::store::postgres::testing::fresh().await else {
        return;
    };
    let (sam, wade, _) = fixture(&store).await;
    let guest = user(&store, "Guest", true).await;
    let older = cart(&store, "demo", sam, "Older", 100).await;
    let newer = cart(&store, "demo", sam, "Newer", 200).await;
    cart(&store, "other", sam, "Elsewhere", 300).await;

    let facts = store.cart_facts(older).await.unwrap().unwrap();
    assert_eq!(
        (
            facts.store_id.as_str(),
            facts.created_by,
            facts.name.as_str()
        ),
        ("demo", sam, "Older")
    );
    assert_eq!(store.cart_facts(CartId::new_random()).await.unwrap(), None);
    assert_eq!(store.is_guest(sam).await.unwrap(), Some(false));
    assert_eq!(store.is_guest(guest).await.unwrap(), Some(true));
    assert_eq!(store.is_guest(UserId::new_random()).await.unwrap(), None);

    assert!(!store.has_customer_in(older, "demo").await.unwrap());
    customer(&store, "demo", sam).await;
    assert!(store.has_customer_in(older, "demo").await.unwrap());
    assert!(!store.has_customer_in(older, "other").await.unwrap());

    // Most recently changed first, bounded.
    let carts = store.customer_carts(sam, "demo", 10).await.unwrap();
    let expect = |id, name: &str| CustomerCart {
        cart_id: id,
        name: name.into(),
    };
    assert_eq!(carts, vec![expect(newer, "Newer"), expect(older, "Older")]);
    assert_eq!(store.customer_carts(sam, "demo", 1).await.unwrap().len(), 1);
    assert!(
        store
            .customer_carts(wade, "demo", 10)
            .await
            .unwrap()
            .is_empty()
    );

    let t = requested(older, wade, sam);
    assert!(store.insert_takeover(&t).await.unwrap());
    assert_eq!(store.takeover(t.id).await.unwrap().as_ref(), Some(&t));
    assert_eq!(store.open_takeover(older).await.unwrap().as_ref(), Some(&t));
    assert_eq!(store.open_takeover(newer).await.unwrap(), None);
    assert!(
        !store
            .insert_takeover(&requested(older, wade, sam))
            .await
            .unwrap(),
        "one open per cart"
    );

    let accept = Transition {
        id: t.id,
        from: &[TakeoverStatus::Requested],
        to: TakeoverStatus::Active,
        now_ms: 20,
        by: None,
    };
    let active = store.transition(accept).await.unwrap().unwrap();
    assert_eq!(
        (active.status, active.started_at, active.ended_at),
        (TakeoverStatus::Active, Some(20), None)
    );
    assert_eq!(
        store.transition(accept).await.unwrap(),
        None,
        "from a state it is not in"
    );
    let end = Transition {
        id: t.id,
        from: &[TakeoverStatus::Requested, TakeoverStatus::Active],
        to: TakeoverStatus::Ended,
        now_ms: 30,
        by: Some(sam),
    };
    let ended = store.transition(end).await.unwrap().unwrap();
    assert_eq!(
        (
            ended.status,
            ended.started_at,
            ended.ended_at,
            ended.ended_by
        ),
        (TakeoverStatus::Ended, Some(20), Some(30), Some(sam))
    );
    assert_eq!(store.open_takeover(older).await.unwrap(), None);
    let missing = Transition {
        id: TakeoverId::new_random(),
        ..end
    };
    assert_eq!(store.transition(missing).await.unwrap(), None);
    // Ended: the cart may be taken over again.
    assert!(
        store
            .insert_takeover(&requested(older, wade, sam))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn help_codes_are_replaced_unique_and_used_once() {
    let Some(store) = crate::store::postgres::testing::fresh().await else {
        return;
    };
    let (sam, _, zoe) = fixture(&store).await;
    let a = cart(&store, "demo", sam, "A", 1).await;
    let b = cart(&store, "demo", zoe, "B", 1).await;
    let code = |cart, by, expires_at| HelpCode {
        cart_id: cart,
        created_by: by,
        expires_at,
    };

    assert!(
        store
            .put_help_code("h1", &code(a, sam, 100), 0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .put_help_code("h1", &code(b, zoe, 100), 50)
            .await
            .unwrap(),
        "live elsewhere"
    );
    // A new code of the cart replaces its old one.
    assert!(
        store
            .put_help_code("h2", &code(a, sam, 200), 60)
            .await
            .unwrap()
    );
    assert_eq!(store.take_help_code("h1").await.unwrap(), None);
    // An expired code is forgotten when another is made, freeing its hash.
    assert!(
        store
            .put_help_code("h1", &code(b, zoe, 300), 250)
            .await
            .unwrap()
    );
    assert_eq!(
        store.take_help_code("h2").await.unwrap(),
        None,
        "expired, forgotten"
    );
    assert_eq!(
        store.take_help_code("h1").await.unwrap(),
        Some(code(b, zoe, 300))
    );
    assert_eq!(store.take_help_code("h1").await.unwrap(), None, "used once");
    // Taken out expired or not.
    assert!(
        store
            .put_help_code("h3", &code(a, sam, 400), 390)
            .await
            .unwrap()
    );
    assert_eq!(
        store.take_help_code("h3").await.unwrap(),
        Some(code(a, sam, 400))
    );
}

/// Runs `f(store, i)` for i in 0..2 at once (released by one barrier) and
/// returns both results in order.
async fn both<T, F, Fut>(store: &Arc<PgStore>, f: F) -> [T; 2]
where
    T: Send + 'static,
    F: Fn(Arc<PgStore>, usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(2));
    let tasks: Vec<_> = (0..2)
        .map(|i| {
            let (barrier, run) = (barrier.clone(), f(store.clone(), i));
            tokio::spawn(async move {
                barrier.wait().await;
                run.await
            })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out.try_into().ok().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_asking_for_one_cart_at_once_one_wins() {
    let Some(store) = crate::store::postgres::testing::fresh().await else {
        return;
    };
    let store = Arc::new(store);
    let (sam, wade, zoe) = fixture(&store).await;
    for round in 0..20 {
        let c = cart(&store, "demo", sam, "Race", round).await;
        let asks = [requested(c, wade, sam), requested(c, zoe, sam)];
        let asks2 = asks.clone();
        let won = both(&store, move |s, i| {
            let t = asks2[i].clone();
            async move { s.insert_takeover(&t).await.unwrap() }
        })
        .await;
        assert_eq!(
            won.iter().filter(|w| **w).count(),
            1,
            "round {round}: {won:?}"
        );
        let winner = &asks[usize::from(won[1])];
        assert_eq!(store.open_takeover(c).await.unwrap().as_ref(), Some(winner));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_help_code_read_out_twice_at_once_is_used_once() {
    let Some(store) = crate::store::postgres::testing::fresh().await else {
        return;
    };
    let store = Arc::new(store);
    let (sam, _, _) = fixture(&store).await;
    for round in 0..20 {
        let c = cart(&store, "demo", sam, "Code", round).await;
        let help = HelpCode {
            cart_id: c,
            created_by: sam,
            expires_at: 1_000,
        };
        let hash = format!("hash-{round}");
        assert!(store.put_help_code(&hash, &help, 0).await.unwrap());
        let taken = both(&store, move |s, _| {
            let hash = hash.clone();
            async move { s.take_help_code(&hash).await.unwrap() }
        })
        .await;
        let got: Vec<_> = taken.into_iter().flatten().collect();
        assert_eq!(got, vec![help], "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_twice_at_once_or_making_two_codes_at_once() {
    let Some(store) = crate::store::postgres::testing::fresh().await else {
        return;
    };
    let store = Arc::new(store);
    let (sam, wade, _) = fixture(&store).await;
    for round in 0..20 {
        let c = cart(&store, "demo", sam, "End", round).await;
        let t = requested(c, wade, sam);
        assert!(store.insert_takeover(&t).await.unwrap());
        let enders = [sam, wade];
        let ended = both(&store, move |s, i| async move {
            let from = [TakeoverStatus::Requested, TakeoverStatus::Active];
            let change = Transition {
                id: t.id,
                from: &from,
                to: TakeoverStatus::Ended,
                now_ms: 50,
                by: Some(enders[i]),
            };
            s.transition(change).await.unwrap()
        })
        .await;
        let got: Vec<_> = ended.into_iter().flatten().collect();
        assert_eq!(got.len(), 1, "round {round}: compare and set");
        assert_eq!(store.takeover(t.id).await.unwrap().as_ref(), got.first());

        // Two members making the cart's code at once: both made, the
        // cart keeps one of them.
        let made = both(&store, move |s, i| async move {
            let help = HelpCode {
                cart_id: c,
                created_by: sam,
                expires_at: 1_000 + i as i64,
            };
            s.put_help_code(&format!("code-{round}-{i}"), &help, 0)
                .await
                .unwrap()
        })
        .await;
        assert_eq!(made, [true, true], "round {round}");
        let kept: Vec<_> = [0, 1]
            .into_iter()
            .map(|i| format!("code-{round}-{i}"))
            .collect();
        let mut found = 0;
        for hash in kept {
            found += usize::from(store.take_help_code(&hash).await.unwrap().is_some());
        }
        assert_eq!(found, 1, "round {round}: one code per cart");
    }
}
