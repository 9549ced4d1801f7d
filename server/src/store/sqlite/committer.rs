//! The connection every write of the change log commits on, and how it
//! commits: a batch in one transaction, one record at a time after a batch
//! failed, a probe while the disk refuses writes. The writer's thread
//! ([`super::writer`]) commits on it, and so does a room's task when the
//! writer is idle.
//!
//! The connection is SQLite's own (not sqlx's, which would send each
//! statement to the connection's thread and wait for it: two more thread
//! switches per statement, docs/BENCHMARKS.md). It is thrown away after
//! any failed statement, commit or rollback: a COMMIT that fails (the disk
//! is full, say) may leave the connection in a state not worth reasoning
//! about, and a fresh connection starts from what is really on disk.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use tokio::sync::Notify;

use super::WAL_AUTOCHECKPOINT;
use super::changelog::{probe_write, put_base, write_records};
use super::webhooks::{HookedStores, write_cart_events};
use crate::config::SqliteSync;
use crate::store::write_queue::{WriteCmd, WriterHealth, records_of};
use crate::store::{CommitError, Result};

/// How long a statement of the writer's thread waits for a lock another
/// connection holds (the pool's transactions that write carts, members,
/// orders ...). A room's task does not wait (`Committer::try_alone`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// What the connection is opened with.
pub(super) struct WriterOptions {
    /// The database file, created and migrated already.
    pub(super) path: PathBuf,
    pub(super) sync: SqliteSync,
    /// Records per transaction, at most.
    pub(super) batch: usize,
    /// How long a cart's webhook event takes more changes (`webhooks`).
    pub(super) webhook_debounce_ms: i64,
}

/// Who is woken after a commit.
#[derive(Clone, Default)]
pub(super) struct Wakes {
    /// The webhook worker, after a batch wrote a new event.
    pub(super) webhook_events: Arc<Notify>,
    /// The deadline timer, after a batch set a cart's deadline.
    pub(super) deadlines: Arc<Notify>,
}

/// What of a batch others wait for.
#[derive(Default)]
struct Wrote {
    webhook_event: bool,
    deadline: bool,
}

/// The connection and what a commit on it reports to.
pub(super) struct Committer {
    options: WriterOptions,
    /// `None` after a failure, until the next write opens a fresh one.
    conn: Option<Connection>,
    health: Arc<WriterHealth>,
    /// Which stores of a batch may have webhook events to write.
    hooked: Arc<HookedStores>,
    wakes: Wakes,
}

impl Committer {
    /// Opens the connection: a store whose writer cannot open it does not
    /// start.
    pub(super) fn open(
        options: WriterOptions,
        health: Arc<WriterHealth>,
        hooked: Arc<HookedStores>,
        wakes: Wakes,
    ) -> Result<Self> {
        Ok(Self {
            conn: Some(open(&options)?),
            options,
            health,
            hooked,
            wakes,
        })
    }

    /// The connection, opened when there is none.
    fn conn(&mut self) -> Result<&mut Connection> {
        if self.conn.is_none() {
            self.conn = Some(open(&self.options)?);
        }
        Ok(self.conn.as_mut().expect("opened above"))
    }

    /// Records the outcome of a write: a failure throws the connection away.
    fn settle<T>(&mut self, result: Result<T>) -> Result<T> {
        match &result {
            Ok(_) => self.health.set(true),
            Err(e) => {
                tracing::error!(error = %e, "a write failed; reopening the writer's connection");
                metrics::counter!("cartroom_writer_failures_total").increment(1);
                self.conn = None;
                self.health.set(false);
            }
        }
        result
    }

    /// Runs `write` in a transaction that takes the write lock at `BEGIN`:
    /// one that starts reading first cannot become a writer once another
    /// connection has written (SQLite answers "database is locked" at
    /// once, without waiting).
    fn in_transaction<T>(&mut self, write: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let tx = (self.conn()?).transaction_with_behavior(TransactionBehavior::Immediate)?;
        let written = write(&tx)?;
        tx.commit()?;
        Ok(written)
    }

    /// Writes `cmds` in one transaction and wakes whoever waits for what
    /// it wrote; a failure throws the connection away and reports the
    /// writer unhealthy.
    pub(super) fn write_batch<'a>(
        &mut self,
        cmds: impl Iterator<Item = &'a WriteCmd>,
    ) -> Result<()> {
        let debounce = self.options.webhook_debounce_ms;
        let hooked = self.hooked.clone();
        let written = self.in_transaction(|tx| write_cmds(tx, cmds, &hooked, debounce));
        let wrote = self.settle(written)?;
        self.wake(&wrote);
        Ok(())
    }

    fn wake(&self, wrote: &Wrote) {
        if wrote.webhook_event {
            self.wakes.webhook_events.notify_one();
        }
        if wrote.deadline {
            self.wakes.deadlines.notify_one();
        }
    }

    /// Commits `cmd` alone, for a room's task that found the writer idle:
    /// without waiting for a lock another connection holds, and without
    /// judging the disk's health on one failure. `false` if nothing was
    /// committed; the caller then queues `cmd` for the writer's thread,
    /// which waits for the lock, retries and reports as for any batch (and
    /// reopens the connection after a failure: opening may wait on locks).
    pub(super) fn try_alone(&mut self, cmd: &WriteCmd) -> bool {
        let debounce = self.options.webhook_debounce_ms;
        let hooked = &self.hooked;
        let Some(conn) = self.conn.as_mut() else {
            return false;
        };
        if conn.busy_timeout(Duration::ZERO).is_err() {
            self.conn = None;
            return false;
        }
        // `None`: another connection holds the write lock.
        let written = (conn.transaction_with_behavior(TransactionBehavior::Immediate)).ok();
        let written = written.map(|tx| -> Result<Wrote> {
            let wrote = write_cmds(&tx, std::iter::once(cmd), hooked, debounce)?;
            tx.commit()?;
            Ok(wrote)
        });
        let reset = conn.busy_timeout(BUSY_TIMEOUT);
        if reset.is_err() || matches!(written, Some(Err(_))) {
            // Its wait for locks, or its state after a failed write, unknown.
            self.conn = None;
        }
        match written {
            Some(Ok(wrote)) => {
                self.wake(&wrote);
                true
            }
            _ => false,
        }
    }

    /// Writes each command in a transaction of its own, so that one bad
    /// record (say, of a cart deleted meanwhile) fails alone.
    pub(super) fn write_one_by_one(&mut self, cmds: &[WriteCmd]) -> Vec<Result<(), CommitError>> {
        (cmds.iter())
            .map(|cmd| {
                let written = self.write_batch(std::iter::once(cmd));
                written.as_ref().map_err(CommitError::from).copied()
            })
            .collect()
    }

    /// Tries a small write, so that a writer that failed learns when the
    /// disk has room again even while nothing is queued.
    pub(super) fn probe(&mut self) {
        match self.in_transaction(probe_write) {
            Ok(()) => self.health.set(true),
            // Still failing, as the last write did: no need to say it again.
            Err(e) => {
                tracing::debug!(error = %e, "the disk still refuses writes");
                self.conn = None;
            }
        }
    }
}

/// Opens the writer's connection to the database the pool created.
fn open(options: &WriterOptions) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        &options.path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let synchronous = match options.sync {
        SqliteSync::Full => "FULL",
        SqliteSync::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = {synchronous};
         PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT};"
    ))?;
    Ok(conn)
}

/// Writes `cmds` in the transaction `conn` is in.
fn write_cmds<'a>(
    conn: &Connection,
    cmds: impl Iterator<Item = &'a WriteCmd>,
    hooked: &HookedStores,
    webhook_debounce_ms: i64,
) -> Result<Wrote> {
    let cmds: Vec<&WriteCmd> = cmds.collect();
    let mut wrote = Wrote::default();
    // Each base ends a run: the changes after it may be of the epoch it
    // starts, which the database accepts only once the base is written.
    for run in cmds.split_inclusive(|c| matches!(c, WriteCmd::Base(_))) {
        let (changes, activity) = records_of(run.iter().copied());
        write_records(conn, &changes, &activity)?;
        // The webhook events of these changes commit with them.
        wrote.webhook_event |= write_cart_events(conn, &changes, hooked, webhook_debounce_ms)?;
        wrote.deadline |= (changes.iter()).any(|c| {
            c.summary
                .as_ref()
                .is_some_and(|s| s.lock_deadline.is_some())
        });
        if let Some(WriteCmd::Base(base)) = run.last() {
            put_base(conn, base)?;
        }
    }
    Ok(wrote)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::store::sqlite::{SqliteStore, database_file};

    #[tokio::test]
    async fn the_writers_connection_syncs_as_configured_checks_references_and_checkpoints_rarely() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::for_data_dir(dir.path());
        // Opening the store creates and migrates the file.
        let store = SqliteStore::open(&config).await.unwrap();
        // Every connection that writes checkpoints as rarely: one left at
        // SQLite's default would checkpoint in its first commit after 1,000
        // frames.
        let pools: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(pools, i64::from(WAL_AUTOCHECKPOINT));
        for (sync, level) in [(SqliteSync::Full, 2), (SqliteSync::Normal, 1)] {
            let conn = open(&WriterOptions {
                path: database_file(&config),
                sync,
                batch: 1,
                webhook_debounce_ms: 0,
            })
            .unwrap();
            let number = |name| -> i64 {
                conn.pragma_query_value(None, name, |row| row.get(0))
                    .unwrap()
            };
            let journal: String = conn
                .pragma_query_value(None, "journal_mode", |row| row.get(0))
                .unwrap();
            assert_eq!(number("synchronous"), level);
            assert_eq!(journal, "wal");
            assert_eq!(number("foreign_keys"), 1);
            assert_eq!(number("wal_autocheckpoint"), i64::from(WAL_AUTOCHECKPOINT));
        }
        store.close().await;
    }
}
