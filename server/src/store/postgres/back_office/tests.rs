//! The store API's tables on Postgres: SQLite's idempotency test, the
//! syncs' sequences, and the races of several writers at once.

use std::sync::Arc;

use cartroom_protocol::back_office::{IDEMPOTENCY_RUNNING_MS, IDEMPOTENCY_TTL_MS, ItemStatus};

use crate::store::back_office::{
    BackOfficeStore, CustomerWrite, NewKey, ProductFields, ProductPatchFields, ProductWrite, Replay,
};
use crate::store::postgres::PgStore;

async fn store() -> Option<PgStore> {
    let store = crate::store::postgres::testing::fresh().await?;
    sqlx::query("INSERT INTO stores (id, name, currency) VALUES ('demo', 'Demo', 'USD')")
        .execute(&store.pool)
        .await
        .unwrap();
    Some(store)
}

#[tokio::test]
async fn a_claim_cut_by_a_stopped_server_is_taken_again_after_a_minute() {
    let Some(store) = store().await else { return };
    let at = |now: i64| (now, now + IDEMPOTENCY_TTL_MS);
    let (now, expires) = at(1_000_000);
    let first = store
        .claim_idempotency("demo", "k", "f", now, expires)
        .await;
    assert!(matches!(first.unwrap(), Replay::Claimed));
    let (now, expires) = at(1_000_000 + IDEMPOTENCY_RUNNING_MS - 1);
    let soon = store
        .claim_idempotency("demo", "k", "f", now, expires)
        .await;
    assert!(matches!(soon, Ok(Replay::Running)), "{soon:?}");
    let other = store
        .claim_idempotency("demo", "k", "g", now, expires)
        .await;
    assert!(matches!(other, Ok(Replay::Conflict)), "{other:?}");
    let (now, expires) = at(1_000_000 + IDEMPOTENCY_RUNNING_MS);
    let again = store
        .claim_idempotency("demo", "k", "f", now, expires)
        .await;
    assert!(matches!(again, Ok(Replay::Claimed)), "{again:?}");
    store
        .answer_idempotency("demo", "k", 200, b"{}")
        .await
        .unwrap();
    let (now, expires) = at(1_000_000 + 10 * IDEMPOTENCY_RUNNING_MS);
    let replayed = store
        .claim_idempotency("demo", "k", "f", now, expires)
        .await;
    assert_eq!(
        replayed.unwrap(),
        Replay::Answered {
            status: 200,
            body: b"{}".to_vec()
        }
    );
    // Released before an answer: free again. Expired: forgotten.
    let (now, expires) = at(2_000_000);
    let fresh = store
        .claim_idempotency("demo", "r", "f", now, expires)
        .await;
    assert!(matches!(fresh, Ok(Replay::Claimed)));
    store.release_idempotency("demo", "r").await.unwrap();
    let retried = store
        .claim_idempotency("demo", "r", "g", now, expires)
        .await;
    assert!(matches!(retried, Ok(Replay::Claimed)), "{retried:?}");
    let (now, expires) = at(2_000_000 + IDEMPOTENCY_TTL_MS);
    let later = store
        .claim_idempotency("demo", "k", "other", now, expires)
        .await;
    assert!(matches!(later, Ok(Replay::Claimed)), "{later:?}");
}

/// One key sent by many requests at once (as to several nodes): exactly
/// one claims it, the others see it running.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_with_one_key_claim_it_once() {
    let Some(store) = store().await else { return };
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let now = 5_000_000;
                store
                    .claim_idempotency("demo", "once", "f", now, now + IDEMPOTENCY_TTL_MS)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut claimed = 0;
    for task in tasks {
        match task.await.unwrap() {
            Replay::Claimed => claimed += 1,
            Replay::Running => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(claimed, 1);
}

fn key<'a>(id: &'a str, hash: &'a str) -> NewKey<'a> {
    NewKey {
        id,
        store_id: "demo",
        name: id,
        prefix: "ck_",
        secret_hash: hash,
        created_by: "owner",
        now_ms: 1,
    }
}

#[tokio::test]
async fn keys_are_bounded_found_by_hash_and_revoked_once() {
    let Some(store) = store().await else { return };
    assert!(store.insert_key(key("a", "ha"), 2).await.unwrap().is_some());
    assert!(store.insert_key(key("b", "hb"), 2).await.unwrap().is_some());
    assert!(store.insert_key(key("c", "hc"), 2).await.unwrap().is_none());
    assert!(store.revoke_key("demo", "a", 7).await.unwrap());
    assert!(store.revoke_key("demo", "a", 9).await.unwrap());
    assert!(!store.revoke_key("other", "b", 9).await.unwrap());
    let found = store.key_by_hash("ha").await.unwrap().unwrap();
    assert_eq!(
        (found.store_id.as_str(), found.view.revoked_at),
        ("demo", Some(7))
    );
    store.touch_key("b", 42).await.unwrap();
    let listed = store.list_keys("demo").await.unwrap();
    let b = listed.iter().find(|k| k.id == "b").unwrap();
    assert_eq!(b.last_used_at, Some(42));
    assert!(store.insert_key(key("c", "hc"), 2).await.unwrap().is_some());
}

/// Owners creating keys at once never pass the bound together.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_key_inserts_keep_the_bound() {
    let Some(store) = store().await else { return };
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let (id, hash) = (format!("k{i}"), format!("h{i}"));
                store
                    .insert_key(key(&id, &hash), 3)
                    .await
                    .unwrap()
                    .is_some()
            })
        })
        .collect();
    let mut made = 0;
    for task in tasks {
        made += usize::from(task.await.unwrap());
    }
    assert_eq!(made, 3);
}

fn upsert(name: &str, stock: i64) -> ProductWrite {
    ProductWrite::Upsert(ProductFields {
        name: name.into(),
        price: 100,
        stock,
        image_url: None,
        group_buy: None,
    })
}

#[tokio::test]
async fn product_writes_report_their_status_and_sync_in_change_order() {
    let Some(store) = store().await else { return };
    let writes = vec![
        ("x".to_owned(), upsert("X", 1), "#fff".to_owned()),
        ("y".to_owned(), upsert("Y", 2), "#000".to_owned()),
        ("z".to_owned(), ProductWrite::Unlist, "#000".to_owned()),
    ];
    let out = store
        .write_products("demo", "USD", writes, 10)
        .await
        .unwrap();
    let statuses: Vec<_> = out.iter().map(|o| o.status).collect();
    assert_eq!(
        statuses,
        [ItemStatus::Created, ItemStatus::Created, ItemStatus::Error]
    );
    let patch = ProductPatchFields {
        stock: Some(5),
        ..Default::default()
    };
    let writes = vec![
        ("x".to_owned(), upsert("X", 1), "#123".to_owned()),
        ("y".to_owned(), ProductWrite::Patch(patch), String::new()),
        ("x".to_owned(), ProductWrite::Unlist, String::new()),
    ];
    let out = store
        .write_products("demo", "USD", writes, 20)
        .await
        .unwrap();
    let statuses: Vec<_> = out.iter().map(|o| o.status).collect();
    assert_eq!(
        statuses,
        [
            ItemStatus::Unchanged,
            ItemStatus::Updated,
            ItemStatus::Updated
        ]
    );
    assert_eq!(out[0].after.as_ref().unwrap().color, "#fff");
    let changed = store.changed_products("demo", 0, 0, 10).await.unwrap();
    let skus: Vec<_> = changed
        .iter()
        .map(|(_, p)| (p.sku.as_str(), p.deleted))
        .collect();
    assert_eq!(skus, [("y", false), ("x", true)]);
    assert_eq!(changed[0].1.stock, 5);
    assert!(changed[0].0 < changed[1].0);
    let after_first = store
        .changed_products("demo", 0, changed[0].0, 10)
        .await
        .unwrap();
    assert_eq!(after_first.len(), 1);
    assert!(
        store
            .changed_products("demo", 21, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A patch of an unlisted product does not apply.
    let patch = ProductWrite::Patch(ProductPatchFields::default());
    let out = store
        .write_products("demo", "USD", vec![("x".into(), patch, String::new())], 30)
        .await
        .unwrap();
    assert_eq!(out[0].status, ItemStatus::Error);
}

/// Syncs of one store at once (as from several nodes): every product is
/// made once, at its own position and change sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_product_syncs_take_distinct_positions_and_sequences() {
    let Some(store) = store().await else { return };
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                // Each sync makes two products of its own and writes one
                // shared with every other sync.
                let writes = vec![
                    (format!("own-{i}-a"), upsert("A", i), "#fff".to_owned()),
                    ("shared".to_owned(), upsert("S", i), "#fff".to_owned()),
                    (format!("own-{i}-b"), upsert("B", i), "#fff".to_owned()),
                ];
                store
                    .write_products("demo", "USD", writes, 10)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut created_shared = 0;
    for task in tasks {
        let out = task.await.unwrap();
        created_shared += usize::from(out[1].status == ItemStatus::Created);
    }
    assert_eq!(created_shared, 1);
    let distinct: (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT position), COUNT(DISTINCT change_seq) FROM products",
    )
    .fetch_one(&store.pool)
    .await
    .unwrap();
    assert_eq!(distinct, (17, 17, 17));
}

fn customer(email: &str, name: &str, external_id: Option<&str>) -> CustomerWrite {
    CustomerWrite {
        email: email.into(),
        name: name.into(),
        external_id: external_id.map(str::to_owned),
    }
}

#[tokio::test]
async fn imported_customers_link_when_the_account_appears() {
    let Some(store) = store().await else { return };
    let batch = [
        customer("ann@example.com", "Ann", Some("C-1")),
        customer("bob@example.com", "Bob", None),
    ];
    let statuses = store.import_customers("demo", &batch, 5).await.unwrap();
    assert_eq!(statuses, [ItemStatus::Created, ItemStatus::Created]);
    let again = [
        customer("ann@example.com", "Ann", None),
        customer("bob@example.com", "Bobby", None),
    ];
    let statuses = store.import_customers("demo", &again, 6).await.unwrap();
    assert_eq!(statuses, [ItemStatus::Unchanged, ItemStatus::Updated]);
    let all = store.changed_customers("demo", 0, 10).await.unwrap();
    let names: Vec<_> = all
        .iter()
        .map(|(_, c)| (c.name.as_str(), c.linked))
        .collect();
    assert_eq!(names, [("Ann", false), ("Bobby", false)]);
    let cursor = all[1].0;
    sqlx::query(
        "INSERT INTO users (id, email, name, is_guest, created_at)
         VALUES ('u-ann', 'ann@example.com', 'Ann', FALSE, 0)",
    )
    .execute(&store.pool)
    .await
    .unwrap();
    let linked = store.changed_customers("demo", cursor, 10).await.unwrap();
    assert_eq!(linked.len(), 1);
    assert!(linked[0].1.linked);
    assert_eq!(linked[0].1.external_id.as_deref(), Some("C-1"));
    // Imported again by e-mail: found through the account.
    let statuses = store
        .import_customers("demo", &[customer("ann@example.com", "Ann B.", None)], 7)
        .await
        .unwrap();
    assert_eq!(statuses, [ItemStatus::Updated]);
    assert_eq!(
        store.changed_customers("demo", 0, 10).await.unwrap().len(),
        2
    );
}

/// Imports racing the sign-ups of the same e-mails: whichever commits
/// first, the other sees it, so every customer ends linked (the import
/// reads accounts under the customers cursor lock, which the linking
/// trigger takes too).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_import_racing_a_sign_up_links_the_customer() {
    let Some(store) = store().await else { return };
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for i in 0..12 {
        let email = format!("racer{i}@example.com");
        let importer = Arc::clone(&store);
        let batch = [customer(&email, "Racer", Some("C-R"))];
        tasks.push(tokio::spawn(async move {
            importer.import_customers("demo", &batch, 1).await.unwrap();
        }));
        let signer = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            sqlx::query(
                "INSERT INTO users (id, email, name, is_guest, created_at)
                 VALUES ($1, $2, 'Racer', FALSE, 0)",
            )
            .bind(format!("u-racer-{i}"))
            .bind(email)
            .execute(&signer.pool)
            .await
            .unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let all = store.changed_customers("demo", 0, 100).await.unwrap();
    assert_eq!(all.len(), 12);
    assert!(all.iter().all(|(_, c)| c.linked), "{all:?}");
}
