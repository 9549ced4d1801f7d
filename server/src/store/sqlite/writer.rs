//! The group-commit writer: one task that owns every write of the change log.
//!
//! Rooms queue records and await a ticket; the writer takes everything
//! queued (up to `commit_batch`), writes it in one transaction, commits (one
//! fsync for the batch) and only then resolves each ticket. Rooms ack and
//! broadcast after that, so an acknowledged edit is always on disk.

use std::time::Instant;

use cartroom_protocol::{ActivityEvent, CartId};
use sqlx::{Acquire, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use super::changelog::{compact, write_records};
use crate::store::{ChangeRecord, CommitError, CommitTicket, Result, Snapshot};

/// Queue depth in front of the writer; a full queue slows rooms down.
const QUEUE: usize = 8192;

type Reply = oneshot::Sender<Result<(), CommitError>>;

/// Work for the writer.
#[derive(Debug)]
enum WriteCmd {
    /// Append a change; the reply comes after commit.
    Change(ChangeRecord, Reply),
    /// Record an activity event that is not a change; the reply comes after commit.
    Activity(CartId, ActivityEvent, Reply),
    /// Replace the cart's snapshot and trim its log.
    Snapshot(Snapshot),
    /// Finish everything queued before this, then stop.
    Stop,
}

impl WriteCmd {
    fn reply(self, outcome: Result<(), CommitError>) {
        if let Self::Change(_, reply) | Self::Activity(_, _, reply) = self {
            let _ = reply.send(outcome);
        }
    }
}

/// Sends work to the writer task.
#[derive(Clone, Debug)]
pub(super) struct WriterHandle {
    tx: mpsc::Sender<WriteCmd>,
}

impl WriterHandle {
    pub(super) async fn append(&self, record: ChangeRecord) -> CommitTicket {
        self.queue(move |reply| WriteCmd::Change(record, reply))
            .await
    }

    pub(super) async fn append_activity(&self, cart: CartId, event: ActivityEvent) -> CommitTicket {
        self.queue(move |reply| WriteCmd::Activity(cart, event, reply))
            .await
    }

    async fn queue(&self, cmd: impl FnOnce(Reply) -> WriteCmd) -> CommitTicket {
        let (reply, rx) = oneshot::channel();
        // A closed writer drops `reply`, which reads as a stopped writer.
        let _ = self.tx.send(cmd(reply)).await;
        Box::pin(async move { rx.await.unwrap_or(Err(CommitError::WriterStopped)) })
    }

    pub(super) fn try_snapshot(&self, snapshot: Snapshot) -> bool {
        self.tx.try_send(WriteCmd::Snapshot(snapshot)).is_ok()
    }

    pub(super) async fn stop(&self) {
        let _ = self.tx.send(WriteCmd::Stop).await;
    }
}

/// Starts the writer; the join handle ends after a stop.
pub(super) fn spawn(pool: SqlitePool, batch: usize) -> (WriterHandle, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(QUEUE);
    let task = tokio::spawn(run(pool, rx, batch.max(1)));
    (WriterHandle { tx }, task)
}

async fn run(pool: SqlitePool, mut rx: mpsc::Receiver<WriteCmd>, batch: usize) {
    let mut cmds = Vec::with_capacity(batch);
    loop {
        if rx.recv_many(&mut cmds, batch).await == 0 {
            return;
        }
        let stop = cmds.iter().any(|c| matches!(c, WriteCmd::Stop));
        let started = Instant::now();
        let outcomes = match write_at_once(&pool, &cmds).await {
            Ok(()) => vec![Ok(()); cmds.len()],
            Err(e) => {
                tracing::warn!(error = %e, "batch failed as a whole; writing it record by record");
                write_one_by_one(&pool, &cmds).await
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
            return;
        }
    }
}

/// Writes the batch in one transaction.
async fn write_at_once(pool: &SqlitePool, cmds: &[WriteCmd]) -> Result<()> {
    let mut tx = pool.begin().await?;
    write_cmds(&mut tx, cmds.iter()).await?;
    tx.commit().await?;
    Ok(())
}

/// Writes the batch in one transaction, each command in its own savepoint,
/// so that one bad record (say, of a cart deleted meanwhile) fails alone.
/// Returns how each command went; all fail when the transaction does.
async fn write_one_by_one(pool: &SqlitePool, cmds: &[WriteCmd]) -> Vec<Result<(), CommitError>> {
    let mut outcomes = Vec::with_capacity(cmds.len());
    let written: Result<()> = async {
        let mut tx = pool.begin().await?;
        for cmd in cmds {
            let mut savepoint = tx.begin().await?;
            let result = write_cmds(&mut savepoint, std::iter::once(cmd)).await;
            match &result {
                Ok(()) => savepoint.commit().await?,
                Err(e) => {
                    tracing::warn!(error = %e, "a write in the batch failed");
                    savepoint.rollback().await?;
                }
            }
            outcomes.push(result.as_ref().map_err(CommitError::from).copied());
        }
        tx.commit().await?;
        Ok(())
    }
    .await;
    match written {
        Ok(()) => outcomes,
        Err(e) => {
            tracing::error!(error = %e, "group commit failed");
            vec![Err(CommitError::from(&e)); cmds.len()]
        }
    }
}

async fn write_cmds<'a>(
    conn: &mut sqlx::SqliteConnection,
    cmds: impl Iterator<Item = &'a WriteCmd> + Clone,
) -> Result<()> {
    let changes: Vec<&ChangeRecord> = cmds
        .clone()
        .filter_map(|c| match c {
            WriteCmd::Change(record, _) => Some(record),
            _ => None,
        })
        .collect();
    let activity: Vec<(CartId, &ActivityEvent)> = cmds
        .clone()
        .filter_map(|c| match c {
            WriteCmd::Change(record, _) => Some((record.cart_id, &record.activity)),
            WriteCmd::Activity(cart_id, event, _) => Some((*cart_id, event)),
            _ => None,
        })
        .collect();
    write_records(conn, &changes, &activity).await?;
    // Snapshots come after the changes they cover.
    for cmd in cmds {
        if let WriteCmd::Snapshot(snapshot) = cmd {
            compact(conn, snapshot).await?;
        }
    }
    Ok(())
}
