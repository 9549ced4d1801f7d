//! Which stores may have an enabled webhook endpoint.
//!
//! The writer asks it before each batch: when no store of the batch may
//! have one, the batch commits without reading the endpoints (most
//! batches: few stores have webhooks). The delivery worker's frequent
//! question, what is due, needs no read when no store may have one. Only
//! this store writes endpoints in its database (one node per SQLite file),
//! and it marks a store before the transaction that creates or enables one
//! of its endpoints begins, so this never says "none" of an endpoint that
//! was committed before the writer asked. A batch the writer asked about
//! before that mark was queued before the endpoint's transaction began:
//! the two overlap, and the batch counts as the earlier. A store stays
//! marked after its last endpoint goes, until the database is opened
//! again: that costs only the read.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Mutex, MutexGuard};

use sqlx::SqlitePool;

use crate::store::Result;

/// At most one entry per store of the database.
pub(in crate::store::sqlite) struct HookedStores(Mutex<HashSet<String>>);

impl HookedStores {
    /// The stores with an enabled endpoint in the database.
    pub(in crate::store::sqlite) async fn load(pool: &SqlitePool) -> Result<Self> {
        let stores: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT store_id FROM webhook_endpoints WHERE enabled = 1")
                .fetch_all(pool)
                .await?;
        Ok(Self(Mutex::new(stores.into_iter().collect())))
    }

    /// Nothing awaits under this lock.
    fn lock(&self) -> MutexGuard<'_, HashSet<String>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Called before a transaction that may create or enable an endpoint
    /// of `store` begins.
    pub(super) fn mark(&self, store: &str) {
        let mut stores = self.lock();
        if !stores.contains(store) {
            stores.insert(store.to_owned());
        }
    }

    /// Whether any store may have an enabled endpoint: when none may, no
    /// delivery can be due.
    pub(in crate::store::sqlite) fn any(&self) -> bool {
        !self.lock().is_empty()
    }

    /// Keeps only the stores that may have an enabled endpoint.
    pub(in crate::store::sqlite) fn retain_marked(&self, stores: &mut BTreeSet<&str>) {
        let marked = self.lock();
        stores.retain(|store| marked.contains(*store));
    }
}
