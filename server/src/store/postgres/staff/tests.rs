//! The staff on Postgres: the trait's answers, and the last owner kept
//! when owners remove each other at once.

use cartroom_protocol::store::StoreRole;

use super::super::join::testing::{shop, user};
use crate::store::staff::{StaffAccess, StaffRemoval, StoreStaff};

const OWNER: StaffAccess = StaffAccess {
    role: StoreRole::Owner,
    customer_update: false,
};
const AGENT: StaffAccess = StaffAccess {
    role: StoreRole::Agent,
    customer_update: false,
};

#[tokio::test]
async fn staff_are_added_listed_and_removed() {
    let Some(store) = crate::store::postgres::testing::fresh().await else {
        return;
    };
    shop(&store, "demo").await;
    shop(&store, "alpha").await;
    let (ann, bob) = (user(&store, "Ann").await, user(&store, "Bob").await);
    assert!(!store.has_owner("demo").await.unwrap());
    assert!(store.add_staff("demo", bob, AGENT, None, 5).await.unwrap());
    assert!(
        store
            .add_staff("demo", ann, OWNER, Some(bob), 9)
            .await
            .unwrap()
    );
    assert!(
        !store.add_staff("demo", ann, AGENT, None, 10).await.unwrap(),
        "once"
    );
    assert!(store.add_staff("alpha", bob, OWNER, None, 1).await.unwrap());
    assert!(store.has_owner("demo").await.unwrap());

    // Owners first (though added later); an owner may update customers.
    let list = store.list_staff("demo").await.unwrap();
    let order: Vec<_> = list
        .iter()
        .map(|m| (m.user_id, m.role, m.customer_update))
        .collect();
    assert_eq!(
        order,
        vec![
            (ann, StoreRole::Owner, true),
            (bob, StoreRole::Agent, false)
        ]
    );
    assert_eq!(list[0].name, "Ann");
    assert_eq!(list[0].added_at, 9);

    let access = store.store_role("demo", ann).await.unwrap().unwrap();
    assert_eq!(access.role, StoreRole::Owner);
    assert!(access.customer_update, "stored as may_update_customers");
    let stores: Vec<_> = (store.stores_of(bob).await.unwrap().into_iter())
        .map(|(s, a)| (s, a.role))
        .collect();
    assert_eq!(
        stores,
        vec![
            ("alpha".to_owned(), StoreRole::Owner),
            ("demo".to_owned(), StoreRole::Agent)
        ]
    );

    assert_eq!(
        store.remove_staff("demo", ann).await.unwrap(),
        StaffRemoval::LastOwner
    );
    assert_eq!(
        store.remove_staff("demo", bob).await.unwrap(),
        StaffRemoval::Removed
    );
    assert_eq!(
        store.remove_staff("demo", bob).await.unwrap(),
        StaffRemoval::NotStaff
    );
    assert!(store.store_role("demo", bob).await.unwrap().is_none());
    assert!(store.has_owner("demo").await.unwrap());
}

/// Two owners removing each other at once: exactly one goes, so the
/// store keeps an owner (on SQLite, `BEGIN IMMEDIATE` did this).
#[tokio::test]
async fn owners_removing_each_other_at_once_keep_one() {
    let Some(store) = crate::store::postgres::testing::fresh().await else {
        return;
    };
    shop(&store, "demo").await;
    for round in 0..10 {
        let (ann, bob) = (user(&store, "Ann").await, user(&store, "Bob").await);
        let store_id = format!("s{round}");
        shop(&store, &store_id).await;
        store
            .add_staff(&store_id, ann, OWNER, None, 1)
            .await
            .unwrap();
        store
            .add_staff(&store_id, bob, OWNER, None, 1)
            .await
            .unwrap();
        let (a, b) = tokio::join!(
            store.remove_staff(&store_id, ann),
            store.remove_staff(&store_id, bob)
        );
        let mut outcomes = vec![a.unwrap(), b.unwrap()];
        outcomes.sort_by_key(|o| *o == StaffRemoval::LastOwner);
        assert_eq!(
            outcomes,
            vec![StaffRemoval::Removed, StaffRemoval::LastOwner]
        );
        assert_eq!(store.list_staff(&store_id).await.unwrap().len(), 1);
        assert!(store.has_owner(&store_id).await.unwrap());
    }
}
