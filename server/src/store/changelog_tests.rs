//! The change log's contract, run against both backends: one row per edit
//! (its op id and activity with it), summaries written only when sent,
//! bases replaced within an epoch and archived across epochs, history of
//! every epoch readable, and the gap check. The database's own tests add
//! what only it has: rows moved by the migration and the tables an edit
//! leaves alone.

use std::borrow::Cow;
use std::sync::Arc;

use cartroom_protocol::http::User;
use cartroom_protocol::{ActivityEvent, CartId, OpId, UserId};
use sqlx::Row;

use super::memory::MemoryStore;
use super::sqlite::SqliteStore;
use super::{
    Accounts, Base, CartHooks, CartSummary, Carts, ChangeLog, ChangeRecord, EpochInfo, LoadLimits,
    NewCart,
};
use crate::config::Config;

/// The lease term of every record: the first term of a cart's lease,
/// where the store has leases (Postgres); the others ignore it.
const TERM: i64 = 1;

/// Takes the cart's lease with term [`TERM`] where the store has leases,
/// so that its writer takes the cart's records.
#[async_trait::async_trait]
pub(super) trait TestLease {
    async fn hold_lease(&self, _cart: CartId) {}
}

impl TestLease for MemoryStore {}
impl TestLease for SqliteStore {}

const LIMITS: LoadLimits = LoadLimits {
    op_memory: 2,
    activity_memory: 3,
};

/// A user and their cart, created at 1000.
pub(in crate::store) async fn cart_of<S: Accounts + Carts + TestLease>(
    store: &S,
) -> (CartId, UserId) {
    let user = User {
        id: UserId::new_random(),
        email: None,
        name: "Ana".into(),
        guest: true,
    };
    assert!(store.insert_user(&user, None, 0).await.unwrap());
    let cart = CartId::new_random();
    store
        .create_cart(NewCart {
            id: cart,
            store_id: "s1",
            name: "First",
            creator: user.id,
            snapshot: b"base-0",
            now_ms: 1000,
        })
        .await
        .unwrap();
    store.hold_lease(cart).await;
    (cart, user.id)
}

fn event(seq: i64, user: UserId, kind: &str, subtotal: i64) -> ActivityEvent {
    ActivityEvent {
        seq,
        at: 1000 + seq,
        user_id: user,
        user_name: "Ana".into(),
        kind: kind.into(),
        text: format!("{kind} {seq}"),
        subtotal,
        currency: "USD".into(),
    }
}

/// Change `seq` of the cart, whose activity event is `act_seq`.
fn of_epoch(epoch: i64, record: ChangeRecord) -> ChangeRecord {
    ChangeRecord { epoch, ..record }
}

pub(in crate::store) fn change(cart: CartId, user: UserId, seq: i64, act_seq: i64) -> ChangeRecord {
    ChangeRecord {
        cart_id: cart,
        seq,
        epoch: 0,
        term: TERM,
        bytes: format!("change-{seq}").into_bytes(),
        user_id: user,
        op_id: OpId(format!("op-{seq}")),
        activity: event(act_seq, user, "add_line", 100 * seq),
        line_count: seq,
        summary: None,
        hooks: CartHooks::default(),
    }
}

pub(in crate::store) async fn commit<S: ChangeLog>(store: &S, record: ChangeRecord) {
    store.append(record).await.await.unwrap();
}

fn base(cart: CartId, epoch: i64, base_seq: i64, at: i64) -> Base {
    Base {
        cart_id: cart,
        epoch,
        term: TERM,
        base_seq,
        bytes: format!("base-{epoch}-{base_seq}").into_bytes(),
        at,
    }
}

pub(super) async fn edits_carry_their_op_ids_activity_and_figures<S>(store: &S)
where
    S: Accounts + Carts + ChangeLog + TestLease,
{
    let (cart, ana) = cart_of(store).await;
    let mut first = change(cart, ana, 1, 1);
    first.summary = Some(CartSummary {
        name: "Renamed".into(),
        lock_deadline: Some(9000),
    });
    commit(store, first).await;
    store
        .append_activity(cart, TERM, event(2, ana, "chat", 100))
        .await
        .await
        .unwrap();
    commit(store, change(cart, ana, 2, 3)).await;
    commit(store, change(cart, ana, 3, 4)).await;

    let state = store.load_cart(cart, LIMITS).await.unwrap().unwrap();
    assert_eq!(
        state.applied_ops,
        vec![(ana, OpId("op-2".into())), (ana, OpId("op-3".into()))]
    );
    let kinds: Vec<(i64, String)> = (state.activity.iter())
        .map(|e| (e.seq, e.kind.clone()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (2, "chat".into()),
            (3, "add_line".into()),
            (4, "add_line".into())
        ]
    );
    assert_eq!(state.activity[2], event(4, ana, "add_line", 300));
    assert_eq!(store.recent_activity(cart, 10).await.unwrap().len(), 4);

    // Name and deadline as last sent; figures from the latest change.
    let listed = store.list_carts(ana).await.unwrap();
    assert_eq!(
        (
            listed[0].name.as_str(),
            listed[0].subtotal,
            listed[0].line_count
        ),
        ("Renamed", 300, 3)
    );
}

pub(super) async fn bases_are_replaced_within_an_epoch_and_archived_across<S>(store: &S)
where
    S: Accounts + Carts + ChangeLog + TestLease,
{
    let (cart, ana) = cart_of(store).await;
    for seq in 1..=2 {
        commit(store, change(cart, ana, seq, seq)).await;
    }
    assert!(store.try_put_base(base(cart, 0, 2, 2000)));
    for seq in 3..=4 {
        commit(store, change(cart, ana, seq, seq)).await;
    }
    assert!(store.try_put_base(base(cart, 1, 4, 4000)));
    commit(store, of_epoch(1, change(cart, ana, 5, 5))).await;
    // A base of an older epoch (a stale room's) changes nothing.
    assert!(store.try_put_base(base(cart, 0, 5, 5000)));
    commit(store, of_epoch(1, change(cart, ana, 6, 6))).await;

    let state = store.load_cart(cart, LIMITS).await.unwrap().unwrap();
    assert_eq!(
        (state.epoch, state.snapshot.as_slice(), state.snapshot_seq),
        (1, &b"base-1-4"[..], 4)
    );
    assert_eq!(
        state.changes,
        vec![b"change-5".to_vec(), b"change-6".to_vec()]
    );
    assert_eq!(state.last_seq, 6);
    assert_eq!(
        store.epochs(cart).await.unwrap(),
        vec![
            EpochInfo {
                epoch: 0,
                base_seq: 0,
                started_at: 1000,
                last_seq: 4,
            },
            EpochInfo {
                epoch: 1,
                base_seq: 4,
                started_at: 4000,
                last_seq: 6,
            },
        ]
    );
    // Epoch 0: its replaced base, then its changes after that base.
    assert_eq!(
        store.epoch_doc_parts(cart, 0).await.unwrap(),
        Some((
            b"base-0-2".to_vec(),
            vec![b"change-3".to_vec(), b"change-4".to_vec()]
        ))
    );
    assert_eq!(
        store.epoch_doc_parts(cart, 1).await.unwrap().unwrap().1,
        vec![b"change-5".to_vec(), b"change-6".to_vec()]
    );
    assert_eq!(store.epoch_doc_parts(cart, 2).await.unwrap(), None);
}

/// A change depends on its epoch's base: one of an epoch whose base did not
/// commit (refused, here as stale), or of an epoch already left, would not load.
pub(super) async fn a_change_of_an_epoch_that_is_not_current_is_refused<S>(store: &S)
where
    S: Accounts + Carts + ChangeLog + TestLease,
{
    let (cart, ana) = cart_of(store).await;
    commit(store, change(cart, ana, 1, 1)).await;
    assert!(store.try_put_base(base(cart, 2, 1, 2000)));
    // A stale room's base of epoch 1 is refused, and so are its changes.
    assert!(store.try_put_base(base(cart, 1, 1, 2000)));
    for epoch in [0, 1, 3] {
        let refused = store
            .append(of_epoch(epoch, change(cart, ana, 2, 2)))
            .await
            .await;
        assert!(refused.is_err(), "epoch {epoch} is not the current one");
    }
    commit(store, of_epoch(2, change(cart, ana, 2, 2))).await;
    let state = store.load_cart(cart, LIMITS).await.unwrap().unwrap();
    assert_eq!((state.epoch, state.last_seq), (2, 2));
    assert_eq!(state.changes, vec![b"change-2".to_vec()]);
}

pub(super) async fn a_change_after_a_missing_one_is_refused<S>(store: &S)
where
    S: Accounts + Carts + ChangeLog + TestLease,
{
    let (cart, ana) = cart_of(store).await;
    commit(store, change(cart, ana, 1, 1)).await;
    assert!(store.try_put_base(base(cart, 1, 1, 2000)));
    let refused = store
        .append(of_epoch(1, change(cart, ana, 3, 3)))
        .await
        .await;
    assert!(refused.is_err(), "change 3 follows no change 2");
    commit(store, of_epoch(1, change(cart, ana, 2, 2))).await;
    assert_eq!(
        store
            .load_cart(cart, LIMITS)
            .await
            .unwrap()
            .unwrap()
            .last_seq,
        2
    );
}

/// A fresh database with the store every cart of these tests is in.
pub(in crate::store) async fn sqlite() -> (Arc<SqliteStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&Config::for_data_dir(dir.path()))
        .await
        .unwrap();
    sqlx::query("INSERT INTO stores (id, name, currency) VALUES ('s1', 'S', 'USD')")
        .execute(&store.pool)
        .await
        .unwrap();
    (Arc::new(store), dir)
}

#[tokio::test]
async fn memory_edits_carry_their_op_ids_activity_and_figures() {
    edits_carry_their_op_ids_activity_and_figures(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_bases_are_replaced_within_an_epoch_and_archived_across() {
    bases_are_replaced_within_an_epoch_and_archived_across(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_a_change_of_an_epoch_that_is_not_current_is_refused() {
    a_change_of_an_epoch_that_is_not_current_is_refused(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_a_change_after_a_missing_one_is_refused() {
    a_change_after_a_missing_one_is_refused(&MemoryStore::new()).await;
}

#[tokio::test]
async fn sqlite_edits_carry_their_op_ids_activity_and_figures() {
    let (store, _dir) = sqlite().await;
    edits_carry_their_op_ids_activity_and_figures(store.as_ref()).await;
    // An edit wrote its change row only; the chat is the activity table's.
    for (table, rows) in [("activity", 1), ("applied_ops", 0)] {
        let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(count, rows, "rows in {table}");
    }
    let deadline: Option<i64> = sqlx::query_scalar("SELECT lock_deadline FROM carts")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(deadline, Some(9000));
    store.close().await;
}

#[tokio::test]
async fn sqlite_bases_are_replaced_within_an_epoch_and_archived_across() {
    let (store, _dir) = sqlite().await;
    bases_are_replaced_within_an_epoch_and_archived_across(store.as_ref()).await;
    store.close().await;
}

#[tokio::test]
async fn sqlite_a_change_of_an_epoch_that_is_not_current_is_refused() {
    let (store, _dir) = sqlite().await;
    a_change_of_an_epoch_that_is_not_current_is_refused(store.as_ref()).await;
    store.close().await;
}

#[tokio::test]
async fn sqlite_a_change_after_a_missing_one_is_refused() {
    let (store, _dir) = sqlite().await;
    a_change_after_a_missing_one_is_refused(store.as_ref()).await;
    store.close().await;
}

/// Each cart's changes are a range of `change_log`'s keys (the cart's
/// number << 32 | seq): carts never see each other's changes, a seq that
/// does not fit its range is refused rather than landing in a neighbour's,
/// and deleting a cart deletes its changes alone.
#[tokio::test]
async fn sqlite_carts_keep_their_changes_apart() {
    let (store, _dir) = sqlite().await;
    let (first, ana) = cart_of(store.as_ref()).await;
    let (second, bea) = cart_of(store.as_ref()).await;
    commit(store.as_ref(), change(first, ana, 1, 1)).await;
    commit(store.as_ref(), change(second, bea, 1, 1)).await;
    commit(store.as_ref(), change(first, ana, 2, 2)).await;
    for seq in [0, 1 << 32] {
        let refused = store.append(change(first, ana, seq, 3)).await.await;
        assert!(refused.is_err(), "seq {seq} is outside the cart's keys");
    }
    let load = |cart| {
        let store = store.clone();
        async move { store.load_cart(cart, LIMITS).await.unwrap().unwrap() }
    };
    let loaded = load(first).await;
    assert_eq!(
        loaded.changes,
        vec![b"change-1".to_vec(), b"change-2".to_vec()]
    );
    assert_eq!(loaded.last_seq, 2);
    assert_eq!(load(second).await.changes, vec![b"change-1".to_vec()]);
    assert_eq!(store.epochs(first).await.unwrap()[0].last_seq, 2);

    store.delete_cart(first).await.unwrap();
    let left: Vec<i64> = sqlx::query_scalar("SELECT key & 4294967295 FROM change_log")
        .fetch_all(&store.pool)
        .await
        .unwrap();
    assert_eq!(left, vec![1]);
    assert_eq!(load(second).await.last_seq, 1);
    store.close().await;
}

/// A database written before changes carried their op ids and activity
/// keeps serving them: op ids move into their changes (those of trimmed
/// changes stay where they were), the snapshot becomes epoch 0's base, the
/// old activity stays, and the listing keeps the cart's figures.
#[tokio::test]
async fn the_migration_keeps_what_older_rows_said() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::for_data_dir(dir.path());
    let pool = sqlx::SqlitePool::connect_with(super::sqlite::connect_options(&config))
        .await
        .unwrap();
    let mut before = sqlx::migrate!("./migrations");
    let upto = (before.migrations.iter())
        .position(|m| m.version == 13)
        .unwrap();
    before.migrations = Cow::Owned(before.migrations[..upto].to_vec());
    before.run(&pool).await.unwrap();
    let (cart, ana) = (CartId::new_random(), UserId::new_random());
    let (c, a) = (cart.to_string(), ana.to_string());
    for sql in [
        "INSERT INTO stores (id, name, currency) VALUES ('s1', 'S', 'USD')",
        "INSERT INTO users (id, name, is_guest, created_at) VALUES (?2, 'Ana', 1, 0)",
        "INSERT INTO carts (id, store_id, name, created_by, created_at, updated_at, subtotal, line_count)
         VALUES (?1, 's1', 'Old', ?2, 1000, 3000, 250, 2)",
        "INSERT INTO members (cart_id, user_id, role, added_at) VALUES (?1, ?2, 'admin', 0)",
        "INSERT INTO snapshots (cart_id, upto_seq, bytes) VALUES (?1, 2, x'00')",
        "INSERT INTO changes (cart_id, seq, bytes) VALUES (?1, 3, x'03')",
        "INSERT INTO applied_ops (cart_id, user_id, op_id, seq) VALUES (?1, ?2, 'op-2', 2), (?1, ?2, 'op-3', 3)",
        "INSERT INTO activity (cart_id, seq, at, user_id, user_name, kind, text, subtotal, currency)
         VALUES (?1, 7, 3000, ?2, 'Ana', 'add_line', 'Ana added', 250, 'USD')",
    ] {
        sqlx::query(sql).bind(&c).bind(&a).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = SqliteStore::open(&config).await.unwrap();
    let state = store.load_cart(cart, LIMITS).await.unwrap().unwrap();
    assert_eq!((state.epoch, state.snapshot_seq, state.last_seq), (0, 2, 3));
    assert_eq!(state.changes, vec![vec![3u8]]);
    assert_eq!(
        state.applied_ops,
        vec![(ana, OpId("op-2".into())), (ana, OpId("op-3".into()))]
    );
    assert_eq!(state.activity.len(), 1);
    let moved: Option<String> = sqlx::query("SELECT op_id FROM changes WHERE seq = 3")
        .fetch_one(&store.pool)
        .await
        .unwrap()
        .get("op_id");
    assert_eq!(moved.as_deref(), Some("op-3"));
    let listed = store.list_carts(ana).await.unwrap();
    assert_eq!((listed[0].subtotal, listed[0].line_count), (250, 2));
    // The next edit goes on from there, with its figures in its row.
    let mut next = change(cart, ana, 4, 8);
    next.line_count = 5;
    commit(&store, next).await;
    let listed = store.list_carts(ana).await.unwrap();
    assert_eq!((listed[0].subtotal, listed[0].line_count), (400, 5));
    assert_eq!(store.epochs(cart).await.unwrap()[0].last_seq, 4);
    store.close().await;
}
