//! The Postgres implementation of every store trait, for several nodes on
//! one database (`--database-url`): the same tables as SQLite's (its own
//! migrations, under `migrations_pg/`), the same group-commit writer, and
//! the leases that give each cart one owner at a time.
//!
//! SQLite has one writer at a time; Postgres has many (every node, and
//! each node's pool). Where SQLite's code relied on that, the statements
//! here lock what they read (`FOR UPDATE`), lean on a unique key, or take
//! the table's cursor lock (see the migration), each said where it is done.

mod accounts;
mod analytics;
mod back_office;
mod carts;
mod catalog;
mod changelog;
#[cfg(test)]
mod changelog_tests;
#[cfg(test)]
mod fencing_tests;
mod join;
mod leases;
mod members;
mod offers;
mod orders;
mod outbox;
mod presence;
mod resets;
mod sessions;
mod sharing;
mod staff;
mod store_shares;
mod support;
mod takeover;
mod totp;
mod webhooks;
mod writer;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::write_queue::WriterHandle;
use super::{Health, Result, StoreError};
pub(super) use super::{parse_id, parse_role};
use presence::Presence;

/// Connections each node keeps to the database for reads and writes
/// outside the change log (which has the writer's own).
const POOL_SIZE: u32 = 16;

/// The database behind every store trait, shared by every node.
pub struct PgStore {
    /// Also read by the store's tests, beside the traits.
    pub(super) pool: PgPool,
    writer: WriterHandle,
    writer_task: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// This node's presence lock (webhook claims live while it is held).
    presence: Presence,
    /// This node's name in cart leases.
    node: String,
}

/// What a node's store needs beside the database's URL.
#[derive(Clone, Debug)]
pub struct PgSettings {
    /// This node's name in cart leases.
    pub node: String,
    /// Most records the writer commits in one transaction.
    pub commit_batch: usize,
    /// How long a cart's webhook event takes more changes.
    pub webhook_debounce_ms: i64,
}

/// Connection options from a `postgres://` URL.
pub fn connect_options(url: &str) -> Result<PgConnectOptions> {
    PgConnectOptions::from_str(url).map_err(|e| StoreError::Config(format!("--database-url: {e}")))
}

impl PgStore {
    /// Connects to the database, migrates it and starts the writer.
    pub async fn open(url: &str, settings: PgSettings) -> Result<Self> {
        let options = connect_options(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations_pg").run(&pool).await?;
        let presence = Presence::take(&options).await?;
        let (writer, writer_task) = writer::spawn(
            options,
            settings.node.clone(),
            settings.commit_batch,
            settings.webhook_debounce_ms,
        );
        Ok(Self {
            pool,
            writer,
            writer_task: tokio::sync::Mutex::new(Some(writer_task)),
            presence,
            node: settings.node,
        })
    }

    /// Lets the writer finish what was queued, then closes the pool.
    pub async fn close(&self) {
        self.writer.stop().await;
        if let Some(task) = self.writer_task.lock().await.take() {
            let _ = task.await;
        }
        self.presence.leave().await;
        self.pool.close().await;
    }
}

#[async_trait]
impl Health for PgStore {
    /// The database answers and the writer's last write succeeded.
    async fn check(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        if !self.writer.health.is_healthy() {
            return Err(StoreError::WritesFailing);
        }
        Ok(())
    }
}

/// Fresh databases for tests: each store gets a schema of its own in the
/// database at `CARTROOM_TEST_POSTGRES` (default: the local `test`).
#[cfg(test)]
pub(crate) mod testing {
    use super::{PgSettings, PgStore};

    /// The node name test stores write as.
    pub(crate) const NODE: &str = "test-node";

    /// The database tests make their schemas in.
    pub(crate) fn base_url() -> String {
        std::env::var("CARTROOM_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
    }

    /// The URL of a new, empty schema, or `None` (with a message saying
    /// why) when Postgres is unreachable, so that a machine without it can
    /// still run the other tests. CI has Postgres, so there they run.
    pub(crate) async fn fresh_url() -> Option<String> {
        let base = base_url();
        let admin = match sqlx::PgPool::connect(&base).await {
            Ok(pool) => pool,
            Err(e) => {
                eprintln!("skipping: Postgres at {base} is unreachable ({e})");
                return None;
            }
        };
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&admin)
            .await
            .expect("create a test schema");
        admin.close().await;
        let sep = if base.contains('?') { '&' } else { '?' };
        Some(format!("{base}{sep}options=-c%20search_path%3D{schema}"))
    }

    /// A store of node `node` on the schema at `url`.
    pub(crate) async fn open(url: &str, node: &str) -> PgStore {
        let settings = PgSettings {
            node: node.to_owned(),
            commit_batch: 512,
            webhook_debounce_ms: 2000,
        };
        PgStore::open(url, settings)
            .await
            .expect("open the test schema")
    }

    /// A store on a new, empty schema (see [`fresh_url`]).
    pub(crate) async fn fresh() -> Option<PgStore> {
        Some(open(&fresh_url().await?, NODE).await)
    }
}
