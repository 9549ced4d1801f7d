//! Carts and the catalog on Postgres, as on SQLite.

use cartroom_protocol::http::User;
use cartroom_protocol::{CartId, MemberRole, UserId};

use crate::catalog::demo::{demo_catalog, demo_catalogs};
use crate::store::postgres::testing::fresh;
use crate::store::{Accounts, Carts, CatalogStore, Memberships, NewCart};

#[tokio::test]
async fn seeding_writes_a_store_once_and_loads_it_back() {
    let Some(store) = fresh().await else { return };
    let catalogs = demo_catalogs();
    for catalog in &catalogs {
        assert!(store.seed(catalog).await.unwrap());
        assert!(!store.seed(catalog).await.unwrap(), "written once");
    }
    let loaded = store.load_catalogs().await.unwrap();
    let mut expected: Vec<_> = catalogs.iter().map(|c| c.store.id.clone()).collect();
    expected.sort();
    let ids: Vec<_> = loaded.iter().map(|c| c.store.id.clone()).collect();
    assert_eq!(ids, expected);
    for catalog in &catalogs {
        let back = loaded
            .iter()
            .find(|c| c.store.id == catalog.store.id)
            .unwrap();
        assert_eq!(back.store, catalog.store);
        assert_eq!(back.listings(), catalog.listings(), "in catalog order");
    }
    // An unlisted product is left out.
    let first = &catalogs[0];
    let sku = &first.listings()[0].product.sku;
    sqlx::query("UPDATE products SET unlisted_at = 1 WHERE store_id = $1 AND sku = $2")
        .bind(&first.store.id)
        .bind(sku)
        .execute(&store.pool)
        .await
        .unwrap();
    let loaded = store.load_catalogs().await.unwrap();
    let back = loaded
        .iter()
        .find(|c| c.store.id == first.store.id)
        .unwrap();
    assert_eq!(back.listings().len(), first.listings().len() - 1);
    assert!(back.get(sku).is_none());
}

#[tokio::test]
async fn carts_are_created_listed_and_deleted() {
    let Some(store) = fresh().await else { return };
    let catalog = demo_catalog();
    store.seed(&catalog).await.unwrap();
    let ana = User {
        id: UserId::new_random(),
        email: None,
        name: "Ana".into(),
        guest: true,
    };
    assert!(store.insert_user(&ana, None, 0).await.unwrap());
    assert_eq!(store.count_created_carts(ana.id).await.unwrap(), 0);
    let (older, newer) = (CartId::new_random(), CartId::new_random());
    for (id, name, at) in [(older, "Older", 1_000), (newer, "Newer", 2_000)] {
        let new = NewCart {
            id,
            store_id: &catalog.store.id,
            name,
            creator: ana.id,
            snapshot: b"base-0",
            now_ms: at,
        };
        store.create_cart(new).await.unwrap();
    }
    assert_eq!(store.count_created_carts(ana.id).await.unwrap(), 2);
    assert_eq!(
        store.role_of(older, ana.id).await.unwrap(),
        Some(MemberRole::Admin)
    );
    assert_eq!(
        store.cart_store(older).await.unwrap().as_deref(),
        Some(catalog.store.id.as_str())
    );
    assert_eq!(store.cart_store(CartId::new_random()).await.unwrap(), None);

    let listed = store.list_carts(ana.id).await.unwrap();
    let names: Vec<_> = listed.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Newer", "Older"], "most recently changed first");
    assert_eq!(listed[0].role, MemberRole::Admin);
    assert_eq!(listed[0].subtotal, 0);
    assert_eq!(listed[0].line_count, 0);
    assert_eq!(listed[0].currency, catalog.store.currency);

    let (epoch, base, bytes): (i64, i64, Vec<u8>) =
        sqlx::query_as("SELECT epoch, base_seq, bytes FROM epochs WHERE cart_id = $1")
            .bind(older.to_string())
            .fetch_one(&store.pool)
            .await
            .unwrap();
    assert_eq!(
        (epoch, base, bytes.as_slice()),
        (0, 0, b"base-0".as_slice())
    );

    store.delete_cart(older).await.unwrap();
    assert_eq!(store.cart_store(older).await.unwrap(), None);
    assert_eq!(store.role_of(older, ana.id).await.unwrap(), None);
    assert_eq!(store.list_carts(ana.id).await.unwrap().len(), 1);
}
