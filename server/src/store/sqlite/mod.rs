//! The SQLite implementation of every store trait: one database file under
//! the data dir, in WAL mode, created and migrated on open.
//!
//! Reads go through the pool. Every write of the change log goes through
//! the group-commit writer ([`writer`]: a thread with a connection of its
//! own, [`committer`], which a room's task commits on itself when the
//! writer is idle), so that many edits share one fsync.
//! The SQL of each aggregate is in its own file and written once.

mod accounts;
mod analytics;
mod answers;
mod back_office;
mod carts;
mod catalog;
mod changelog;
mod committer;
mod join;
mod members;
mod offers;
mod orders;
mod outbox;
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

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{Health, Result, StoreError};
pub(super) use super::{parse_id, parse_role};
use crate::config::{Config, SqliteSync};

/// The database behind every store trait on one node.
pub struct SqliteStore {
    /// Also read by the store's tests, beside the traits.
    pub(super) pool: SqlitePool,
    writer: writer::Writer,
    writer_thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Answers the support desk's most frequent question without a read.
    no_conversation: Arc<support::NoConversation>,
    /// Marked before an endpoint is created or enabled; read by the writer.
    hooked: Arc<webhooks::HookedStores>,
    /// Who is woken after a commit (by the writer, and by this store's
    /// transactions that write webhook events).
    wakes: committer::Wakes,
}

/// Bytes per database page, for databases this build creates. Half of
/// SQLite's default: a WAL frame (24 + 2,048 bytes) then covers 1.5 file
/// pages of 4 KiB on average instead of 2, which is most of the bytes an
/// edit costs at one edit per commit (docs/BENCHMARKS.md, "Write path").
/// A database keeps the page size it was created with.
const PAGE_SIZE: u32 = 2048;

/// WAL frames after which a commit copies the log into the database file
/// (SQLite's default is 1,000: 2 MB at our page size). Under load a page
/// is written to the log many times between checkpoints but copied once per
/// checkpoint, so rarer checkpoints copy less and sync the database file
/// less often: at 2,000 `family` ops/s, eight times SQLite's default took
/// commit p99 from 9-11 to 3.5-4.5 ms and a third off the bytes written per
/// edit (docs/BENCHMARKS.md, "Rarer checkpoints"). The log grows to ~16 MB.
const WAL_AUTOCHECKPOINT: u32 = 8000;

/// The database file under the data dir.
fn database_file(config: &Config) -> std::path::PathBuf {
    config.data_dir.join("cartroom.sqlite3")
}

/// Connection options for the database file under the data dir.
pub fn connect_options(config: &Config) -> SqliteConnectOptions {
    let synchronous = match config.sqlite_sync {
        SqliteSync::Full => SqliteSynchronous::Full,
        SqliteSync::Normal => SqliteSynchronous::Normal,
    };
    SqliteConnectOptions::new()
        .filename(database_file(config))
        .create_if_missing(true)
        .page_size(PAGE_SIZE)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        .foreign_keys(true)
        .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT.to_string())
        .busy_timeout(Duration::from_secs(10))
}

impl SqliteStore {
    /// Opens (creating and migrating) the database and starts the writer.
    pub async fn open(config: &Config) -> Result<Self> {
        std::fs::create_dir_all(&config.data_dir)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(connect_options(config))
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        let hooked = Arc::new(webhooks::HookedStores::load(&pool).await?);
        let options = committer::WriterOptions {
            path: database_file(config),
            sync: config.sqlite_sync,
            batch: config.commit_batch,
            webhook_debounce_ms: config.webhook_debounce_ms as i64,
        };
        let wakes = committer::Wakes::default();
        let (writer, writer_thread) = writer::spawn(options, hooked.clone(), wakes.clone())?;
        Ok(Self {
            pool,
            writer,
            writer_thread: std::sync::Mutex::new(Some(writer_thread)),
            no_conversation: Default::default(),
            hooked,
            wakes,
        })
    }

    /// Lets the writer finish what was queued, then closes the pool.
    pub async fn close(&self) {
        self.writer.stop().await;
        let thread = (self.writer_thread.lock())
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        self.pool.close().await;
    }
}

#[async_trait]
impl Health for SqliteStore {
    /// The database answers and the writer's last write succeeded.
    async fn check(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        if !self.writer.health().is_healthy() {
            return Err(StoreError::WritesFailing);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn page_size(store: &SqliteStore) -> u32 {
        sqlx::query_scalar("PRAGMA page_size")
            .fetch_one(&store.pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_new_database_has_small_pages_and_an_older_one_keeps_its_own() {
        let new = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&Config::for_data_dir(new.path()))
            .await
            .unwrap();
        assert_eq!(page_size(&store).await, PAGE_SIZE);
        store.close().await;

        // A database an earlier build created, with SQLite's default pages.
        let old = tempfile::tempdir().unwrap();
        let config = Config::for_data_dir(old.path());
        std::fs::create_dir_all(&config.data_dir).unwrap();
        let pool = SqlitePool::connect_with(connect_options(&config).page_size(4096))
            .await
            .unwrap();
        sqlx::migrate!("./migrations").run(&pool).await.unwrap();
        pool.close().await;
        let store = SqliteStore::open(&config).await.unwrap();
        assert_eq!(page_size(&store).await, 4096);
        store.check().await.unwrap();
        store.close().await;
    }
}
