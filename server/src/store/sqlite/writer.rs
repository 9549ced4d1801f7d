//! The group-commit writer: one task that owns every write of the change log.
//!
//! Rooms queue records and await a ticket; the writer takes everything
//! queued (up to `commit_batch`), writes it in one transaction, commits (one
//! fsync for the batch) and only then resolves each ticket. Rooms ack and
//! broadcast after that, so an acknowledged edit is always on disk.
//!
//! The writer has a connection of its own, not one from the pool, and
//! throws it away after any failed statement, commit or rollback: a COMMIT
//! that fails (the disk is full, say) can leave SQLite inside a transaction
//! the driver no longer knows about, and the next "transaction" would then
//! be a savepoint inside it whose "commit" writes nothing. A fresh
//! connection starts from what is really on disk. While writes fail, the
//! writer reports itself unhealthy and probes the disk until a write
//! succeeds again.

use std::sync::Arc;
use std::time::Instant;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, QueryBuilder, Sqlite, SqliteConnection};
use tokio::sync::mpsc;

use super::changelog::{probe_write, push_records, put_base};
use super::webhooks::{HookedStores, hooked_stores, push_any_endpoint, write_cart_events};
use crate::store::write_queue::{PROBE_EVERY, WriteCmd, WriterHandle, WriterHealth, records_of};
use crate::store::{CommitError, Result};

/// Starts the writer; the join handle ends after a stop.
pub(super) fn spawn(
    options: SqliteConnectOptions,
    batch: usize,
    webhook_debounce_ms: i64,
    hooked: Arc<HookedStores>,
) -> (WriterHandle, tokio::task::JoinHandle<()>) {
    let (handle, rx) = WriterHandle::new();
    let writer = Writer {
        options,
        conn: None,
        health: handle.health.clone(),
        webhook_debounce_ms,
        hooked,
    };
    let task = tokio::spawn(writer.run(rx, batch.max(1)));
    (handle, task)
}

/// The writer task's state.
struct Writer {
    options: SqliteConnectOptions,
    /// `None` after a failure, until the next write opens a fresh one.
    conn: Option<SqliteConnection>,
    health: Arc<WriterHealth>,
    /// How long a cart's webhook event takes more changes (`webhooks`).
    webhook_debounce_ms: i64,
    /// Which stores of a batch may have webhook events to write.
    hooked: Arc<HookedStores>,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<WriteCmd>, batch: usize) {
        let mut cmds = Vec::with_capacity(batch);
        loop {
            let received = if self.health.is_healthy() {
                rx.recv_many(&mut cmds, batch).await
            } else {
                match tokio::time::timeout(PROBE_EVERY, rx.recv_many(&mut cmds, batch)).await {
                    Ok(received) => received,
                    Err(_) => {
                        self.probe().await;
                        continue;
                    }
                }
            };
            if received == 0 {
                break;
            }
            let stop = cmds.iter().any(|c| matches!(c, WriteCmd::Stop));
            let started = Instant::now();
            let outcomes = match self.write_at_once(&cmds).await {
                Ok(()) => vec![Ok(()); cmds.len()],
                Err(e) => {
                    tracing::warn!(error = %e, "batch failed as a whole; writing it record by record");
                    self.write_one_by_one(&cmds).await
                }
            };
            let changes = cmds
                .iter()
                .filter(|c| matches!(c, WriteCmd::Change(..)))
                .count();
            metrics::histogram!("cartroom_commit_seconds").record(started.elapsed().as_secs_f64());
            metrics::histogram!("cartroom_commit_batch_changes").record(changes as f64);
            for (cmd, outcome) in cmds.drain(..).zip(outcomes) {
                cmd.reply(outcome);
            }
            if stop {
                break;
            }
        }
        if let Some(conn) = self.conn.take() {
            let _ = conn.close().await;
        }
    }

    /// The writer's connection, opened when there is none.
    async fn conn(&mut self) -> Result<&mut SqliteConnection> {
        if self.conn.is_none() {
            self.conn = Some(self.options.connect().await?);
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

    /// Writes the batch in one transaction. Every transaction of the writer
    /// takes the write lock at `BEGIN`: one that starts reading first
    /// cannot become a writer once another connection has written (SQLite
    /// answers "database is locked" at once, without waiting).
    async fn write_at_once(&mut self, cmds: &[WriteCmd]) -> Result<()> {
        let debounce = self.webhook_debounce_ms;
        let hooked = self.hooked.clone();
        let written = async {
            let conn = self.conn().await?;
            if cmds.iter().any(|c| matches!(c, WriteCmd::Base(_))) {
                let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
                write_cmds(&mut tx, cmds.iter(), debounce).await?;
                tx.commit().await?;
                Ok(())
            } else {
                write_in_one_go(conn, cmds, &hooked, debounce).await
            }
        }
        .await;
        self.settle(written)
    }

    /// Writes each command in a transaction of its own, so that one bad
    /// record (say, of a cart deleted meanwhile) fails alone.
    async fn write_one_by_one(&mut self, cmds: &[WriteCmd]) -> Vec<Result<(), CommitError>> {
        let mut outcomes = Vec::with_capacity(cmds.len());
        let debounce = self.webhook_debounce_ms;
        for cmd in cmds {
            let written = async {
                let mut tx = self.conn().await?.begin_with("BEGIN IMMEDIATE").await?;
                write_cmds(&mut tx, std::iter::once(cmd), debounce).await?;
                tx.commit().await?;
                Ok(())
            }
            .await;
            let written = self.settle(written);
            outcomes.push(written.as_ref().map_err(CommitError::from).copied());
        }
        outcomes
    }

    /// Tries a small write, so that a writer that failed learns when the
    /// disk has room again even while nothing is queued.
    async fn probe(&mut self) {
        let written: Result<()> = async {
            let mut tx = self.conn().await?.begin_with("BEGIN IMMEDIATE").await?;
            probe_write(&mut tx).await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        match written {
            Ok(()) => self.health.set(true),
            // Still failing, as the last write did: no need to say it again.
            Err(e) => {
                tracing::debug!(error = %e, "the disk still refuses writes");
                self.conn = None;
            }
        }
    }
}

/// A batch without bases, sent to the connection's thread at once: one
/// round trip (two when its stores may have webhooks to tell), where each
/// statement on its own would cost two thread switches. A failure may
/// leave a transaction open, and the caller throws the connection away.
///
/// A batch of one row (one edit, at a few edits per second the usual
/// batch) is one statement, sent without `BEGIN` and `COMMIT`: SQLite runs
/// it in a transaction of its own, taking the write lock before it reads,
/// as `BEGIN IMMEDIATE` does. sqlx hands the writer task each statement's
/// result as it finishes, one wake-up each, so this saves two of four. Not
/// for more rows: a row refused half-way through an `INSERT OR FAIL` would
/// leave the rows before it committed.
async fn write_in_one_go(
    conn: &mut SqliteConnection,
    cmds: &[WriteCmd],
    hooked: &HookedStores,
    webhook_debounce_ms: i64,
) -> Result<()> {
    let (changes, activity) = records_of(cmds.iter());
    let mut stores = hooked_stores(&changes);
    hooked.retain_marked(&mut stores);
    let one_row =
        changes.len() + activity.len() == 1 && changes.iter().all(|c| c.summary.is_none());
    if one_row && stores.is_empty() {
        let mut sql = QueryBuilder::<Sqlite>::new("");
        push_records(&mut sql, &changes, &activity);
        sql.build().execute(&mut *conn).await?;
        return Ok(());
    }
    let mut sql = QueryBuilder::<Sqlite>::new("BEGIN IMMEDIATE; ");
    push_records(&mut sql, &changes, &activity);
    if stores.is_empty() {
        sql.push("COMMIT");
        sql.build().execute(&mut *conn).await?;
        return Ok(());
    }
    push_any_endpoint(&mut sql, &stores);
    let any_endpoint: bool = sql.build_query_scalar().fetch_one(&mut *conn).await?;
    if any_endpoint {
        write_cart_events(conn, &changes, webhook_debounce_ms).await?;
    }
    sqlx::query("COMMIT").execute(&mut *conn).await?;
    Ok(())
}

async fn write_cmds<'a>(
    conn: &mut SqliteConnection,
    cmds: impl Iterator<Item = &'a WriteCmd>,
    webhook_debounce_ms: i64,
) -> Result<()> {
    let cmds: Vec<&WriteCmd> = cmds.collect();
    // Each base ends a run: the changes after it may be of the epoch it
    // starts, which the database accepts only once the base is written.
    for run in cmds.split_inclusive(|c| matches!(c, WriteCmd::Base(_))) {
        let (changes, activity) = records_of(run.iter().copied());
        let mut sql = QueryBuilder::<Sqlite>::new("");
        push_records(&mut sql, &changes, &activity);
        if !changes.is_empty() || !activity.is_empty() {
            sql.build().execute(&mut *conn).await?;
        }
        // The webhook events of these changes commit with them.
        write_cart_events(conn, &changes, webhook_debounce_ms).await?;
        if let Some(WriteCmd::Base(base)) = run.last() {
            put_base(conn, base).await?;
        }
    }
    Ok(())
}
