//! The group-commit writer on Postgres: one task, one connection of its
//! own, one transaction per batch, acks only after COMMIT, as SQLite's
//! writer. Beside it, fencing: the transaction first locks the leases of
//! the batch's carts (`leases::fence`), and writes only the records whose
//! room still holds its cart's lease term on this node; the others are
//! answered `LeaseLost` and leave nothing behind. A node that lost a cart
//! (paused, cut off from the database, too slow to renew) can thus never
//! write it, even with records it queued before.
//!
//! A failed batch is written again record by record, so that one bad
//! record fails alone; a failed connection is dropped and reopened.

use std::collections::HashSet;
use std::time::Instant;

use cartroom_protocol::CartId;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use tokio::sync::mpsc;

use super::changelog::{put_base, write_records};
use super::leases::fence;
use super::webhooks::write_cart_events;
use crate::store::write_queue::{PROBE_EVERY, WriteCmd, WriterHandle, records_of};
use crate::store::{CommitError, Result};

/// Starts the writer of node `node`; the join handle ends after a stop.
pub(super) fn spawn(
    options: PgConnectOptions,
    node: String,
    batch: usize,
    webhook_debounce_ms: i64,
) -> (WriterHandle, tokio::task::JoinHandle<()>) {
    let (handle, rx) = WriterHandle::new();
    let writer = Writer {
        options,
        node,
        conn: None,
        handle: handle.clone(),
        webhook_debounce_ms,
    };
    let task = tokio::spawn(writer.run(rx, batch.max(1)));
    (handle, task)
}

struct Writer {
    options: PgConnectOptions,
    /// The node whose leases the records must hold.
    node: String,
    /// `None` after a failure, until the next write opens a fresh one.
    conn: Option<PgConnection>,
    handle: WriterHandle,
    webhook_debounce_ms: i64,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<WriteCmd>, batch: usize) {
        let mut cmds = Vec::with_capacity(batch);
        loop {
            let received = if self.handle.health.is_healthy() {
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
            let outcomes = match self.write(&cmds).await {
                Ok(outcomes) => outcomes,
                Err(e) => {
                    tracing::warn!(error = %e, "batch failed as a whole; writing it record by record");
                    let mut outcomes = Vec::with_capacity(cmds.len());
                    for cmd in &cmds {
                        let outcome = self.write(std::slice::from_ref(cmd)).await;
                        outcomes.push(match outcome {
                            Ok(mut one) => one.pop().unwrap_or(Ok(())),
                            Err(e) => Err(CommitError::from(&e)),
                        });
                    }
                    outcomes
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

    /// Writes `cmds` in one transaction: each record's outcome, or the
    /// error that rolled the whole transaction back.
    async fn write(&mut self, cmds: &[WriteCmd]) -> Result<Vec<Result<(), CommitError>>> {
        let node = self.node.clone();
        let debounce = self.webhook_debounce_ms;
        let written = async {
            if self.conn.is_none() {
                self.conn = Some(self.options.connect().await?);
            }
            let conn = self.conn.as_mut().expect("opened above");
            let mut tx = conn.begin().await?;
            let wanted: Vec<(CartId, i64)> = cmds
                .iter()
                .filter_map(WriteCmd::lease)
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let held: HashSet<(CartId, i64)> =
                fence(&mut tx, &node, &wanted).await?.into_iter().collect();
            let holds = |cmd: &WriteCmd| cmd.lease().is_none_or(|l| held.contains(&l));
            // Each base ends a run: the changes after it may be of the epoch
            // it starts, which the database accepts once the base is written.
            let kept: Vec<&WriteCmd> = cmds.iter().filter(|c| holds(c)).collect();
            for run in kept.split_inclusive(|c| matches!(c, WriteCmd::Base(_))) {
                let (changes, activity) = records_of(run.iter().copied());
                write_records(&mut tx, &changes, &activity).await?;
                write_cart_events(&mut tx, &changes, debounce).await?;
                if let Some(WriteCmd::Base(base)) = run.last() {
                    put_base(&mut tx, base).await?;
                }
            }
            tx.commit().await?;
            let lost = cmds.len() - kept.len();
            if lost > 0 {
                metrics::counter!("cartroom_fenced_records_total").increment(lost as u64);
                tracing::warn!(
                    lost,
                    "records of carts whose lease this node lost were refused"
                );
            }
            Ok(cmds
                .iter()
                .map(|c| {
                    if holds(c) {
                        Ok(())
                    } else {
                        Err(CommitError::LeaseLost)
                    }
                })
                .collect())
        }
        .await;
        match &written {
            Ok(_) => self.handle.health.set(true),
            Err(e) => {
                tracing::error!(error = %e, "a write failed; reopening the writer's connection");
                metrics::counter!("cartroom_writer_failures_total").increment(1);
                self.conn = None;
                self.handle.health.set(false);
            }
        }
        written
    }

    /// Asks the database whether it answers again, so that a writer that
    /// failed learns it even while nothing is queued.
    async fn probe(&mut self) {
        let answered: Result<()> = async {
            let mut conn = self.options.connect().await?;
            sqlx::query("SELECT 1").execute(&mut conn).await?;
            self.conn = Some(conn);
            Ok(())
        }
        .await;
        match answered {
            Ok(()) => self.handle.health.set(true),
            Err(e) => tracing::debug!(error = %e, "the database still does not answer"),
        }
    }
}
