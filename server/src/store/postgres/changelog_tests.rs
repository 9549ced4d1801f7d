//! The change log's contract (`store::changelog_tests`) on Postgres.

use std::time::Duration;

use cartroom_protocol::CartId;

use super::PgStore;
use super::testing::{NODE, fresh};
use crate::store::changelog_tests::{
    TestLease, a_change_after_a_missing_one_is_refused,
    a_change_of_an_epoch_that_is_not_current_is_refused,
    bases_are_replaced_within_an_epoch_and_archived_across,
    edits_carry_their_op_ids_activity_and_figures,
};
use crate::store::{Acquired, Leases};

#[async_trait::async_trait]
impl TestLease for PgStore {
    async fn hold_lease(&self, cart: CartId) {
        let acquired = self
            .acquire(cart, NODE, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(acquired, Acquired::Held { term: 1 });
    }
}

async fn store() -> Option<PgStore> {
    let store = fresh().await?;
    sqlx::query("INSERT INTO stores (id, name, currency) VALUES ('s1', 'S', 'USD')")
        .execute(&store.pool)
        .await
        .unwrap();
    Some(store)
}

#[tokio::test]
async fn postgres_edits_carry_their_op_ids_activity_and_figures() {
    let Some(store) = store().await else { return };
    edits_carry_their_op_ids_activity_and_figures(&store).await;
    let deadline: Option<i64> = sqlx::query_scalar("SELECT lock_deadline FROM carts")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(deadline, Some(9000));
    store.close().await;
}

#[tokio::test]
async fn postgres_bases_are_replaced_within_an_epoch_and_archived_across() {
    let Some(store) = store().await else { return };
    bases_are_replaced_within_an_epoch_and_archived_across(&store).await;
    store.close().await;
}

#[tokio::test]
async fn postgres_a_change_of_an_epoch_that_is_not_current_is_refused() {
    let Some(store) = store().await else { return };
    a_change_of_an_epoch_that_is_not_current_is_refused(&store).await;
    store.close().await;
}

#[tokio::test]
async fn postgres_a_change_after_a_missing_one_is_refused() {
    let Some(store) = store().await else { return };
    a_change_after_a_missing_one_is_refused(&store).await;
    store.close().await;
}
