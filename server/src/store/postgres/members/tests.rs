//! Memberships on Postgres: the rules as on SQLite, and held when callers
//! on several nodes change one cart's members at once.

use std::sync::Arc;

use cartroom_protocol::http::User;
use cartroom_protocol::{CartId, MemberRole, UserId};
use tokio::sync::Barrier;

use crate::catalog::demo::demo_catalog;
use crate::store::postgres::PgStore;
use crate::store::postgres::testing::fresh;
use crate::store::{
    Accounts, Carts, CatalogStore, MemberChange, MemberChangeError, Memberships, NewCart,
};

async fn user(store: &PgStore, name: &str) -> UserId {
    let user = User {
        id: UserId::new_random(),
        email: Some(format!(
            "{}-{}@example.com",
            name.to_lowercase(),
            UserId::new_random()
        )),
        name: name.into(),
        guest: false,
    };
    assert!(store.insert_user(&user, None, 0).await.unwrap());
    user.id
}

async fn store_with_demo() -> Option<PgStore> {
    let store = fresh().await?;
    assert!(store.seed(&demo_catalog()).await.unwrap());
    Some(store)
}

async fn cart(store: &PgStore, admin: UserId) -> CartId {
    let id = CartId::new_random();
    let new = NewCart {
        id,
        store_id: &demo_catalog().store.id,
        name: "BBQ",
        creator: admin,
        snapshot: b"base",
        now_ms: 1_000,
    };
    store.create_cart(new).await.unwrap();
    id
}

fn change(cart: CartId, user: UserId, role: Option<MemberRole>, now_ms: i64) -> MemberChange {
    MemberChange {
        cart,
        user,
        role,
        add_if_missing: true,
        max_members: 50,
        now_ms,
    }
}

#[tokio::test]
async fn the_rules_hold_one_change_at_a_time() {
    let Some(store) = store_with_demo().await else {
        return;
    };
    let ana = user(&store, "Ana").await;
    let bo = user(&store, "Bo").await;
    let cy = user(&store, "Cy").await;
    let cart = cart(&store, ana).await;
    assert_eq!(
        store.role_of(cart, ana).await.unwrap(),
        Some(MemberRole::Admin)
    );
    assert_eq!(store.role_of(cart, bo).await.unwrap(), None);

    let not_added = MemberChange {
        add_if_missing: false,
        ..change(cart, bo, Some(MemberRole::Editor), 2_000)
    };
    assert!(matches!(
        store.change_member(not_added).await,
        Err(MemberChangeError::NotMember)
    ));
    let over = MemberChange {
        max_members: 1,
        ..change(cart, bo, Some(MemberRole::Editor), 2_000)
    };
    assert!(matches!(
        store.change_member(over).await,
        Err(MemberChangeError::TooMany(1))
    ));
    // Cy and Bo join at one instant: names break the tie.
    for who in [cy, bo] {
        let c = change(cart, who, Some(MemberRole::Editor), 2_000);
        store.change_member(c).await.unwrap();
    }
    let names: Vec<String> = store
        .list_members(cart)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, ["Ana", "Bo", "Cy"]);

    // The only admin may not step down or leave; once Bo is admin too, she may.
    for role in [Some(MemberRole::Viewer), None] {
        assert!(matches!(
            store.change_member(change(cart, ana, role, 3_000)).await,
            Err(MemberChangeError::LastAdmin)
        ));
    }
    let promote = change(cart, bo, Some(MemberRole::Admin), 3_000);
    store.change_member(promote).await.unwrap();
    store
        .change_member(change(cart, ana, None, 4_000))
        .await
        .unwrap();
    assert_eq!(store.role_of(cart, ana).await.unwrap(), None);
    // A role change keeps the member's place.
    let members = store.list_members(cart).await.unwrap();
    assert_eq!(members[0].user_id, bo);
    assert_eq!(members[0].role, MemberRole::Admin);
}

/// Runs `a` and `b` at once on the store's pool (two nodes' requests).
async fn race(
    store: &Arc<PgStore>,
    a: MemberChange,
    b: MemberChange,
) -> [Result<(), MemberChangeError>; 2] {
    let start = Arc::new(Barrier::new(2));
    let run = |c: MemberChange| {
        let (store, start) = (store.clone(), start.clone());
        tokio::spawn(async move {
            start.wait().await;
            store.change_member(c).await
        })
    };
    let (ta, tb) = (run(a), run(b));
    [ta.await.unwrap(), tb.await.unwrap()]
}

async fn admins(store: &PgStore, cart: CartId) -> usize {
    let members = store.list_members(cart).await.unwrap();
    members
        .iter()
        .filter(|m| m.role == MemberRole::Admin)
        .count()
}

/// Two admins demote (or remove) each other at the same instant, many
/// times over: one wins, the other is told the cart needs an admin.
#[tokio::test]
async fn two_admins_demoting_each_other_leave_one() {
    let Some(store) = store_with_demo().await else {
        return;
    };
    let store = Arc::new(store);
    for round in 0..16 {
        let ana = user(&store, "Ana").await;
        let bo = user(&store, "Bo").await;
        let cart = cart(&store, ana).await;
        let promote = change(cart, bo, Some(MemberRole::Admin), 2_000);
        store.change_member(promote).await.unwrap();
        let role = if round % 2 == 0 {
            Some(MemberRole::Editor)
        } else {
            None
        };
        let results = race(
            &store,
            change(cart, bo, role, 3_000),
            change(cart, ana, role, 3_000),
        )
        .await;
        let won = results.iter().filter(|r| r.is_ok()).count();
        let refused = results
            .iter()
            .filter(|r| matches!(r, Err(MemberChangeError::LastAdmin)))
            .count();
        assert_eq!((won, refused), (1, 1), "round {round}: {results:?}");
        assert_eq!(admins(&store, cart).await, 1, "round {round}");
    }
}

/// Two users added at once to a cart with room for one more: one gets in.
#[tokio::test]
async fn racing_joins_keep_the_member_bound() {
    let Some(store) = store_with_demo().await else {
        return;
    };
    let store = Arc::new(store);
    for round in 0..16 {
        let ana = user(&store, "Ana").await;
        let cart = cart(&store, ana).await;
        let join = |who| MemberChange {
            max_members: 2,
            ..change(cart, who, Some(MemberRole::Editor), 2_000)
        };
        let (bo, cy) = (user(&store, "Bo").await, user(&store, "Cy").await);
        let results = race(&store, join(bo), join(cy)).await;
        let won = results.iter().filter(|r| r.is_ok()).count();
        let refused = results
            .iter()
            .filter(|r| matches!(r, Err(MemberChangeError::TooMany(2))))
            .count();
        assert_eq!((won, refused), (1, 1), "round {round}: {results:?}");
        assert_eq!(store.list_members(cart).await.unwrap().len(), 2);
    }
}
