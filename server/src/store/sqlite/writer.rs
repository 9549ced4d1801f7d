//! The group-commit writer: every write of the change log goes through it.
//!
//! Rooms queue records and await a ticket; the writer's thread takes
//! everything queued (up to `commit_batch`), writes it in one transaction,
//! commits (one sync for the batch) and only then resolves each ticket.
//! Rooms ack and broadcast after that, so an acknowledged edit is always on
//! disk. While writes fail, the writer reports itself unhealthy and probes
//! the disk until a write succeeds again.
//!
//! A record that finds the writer idle (nothing queued or being written,
//! and no commit for a few times as long as the last one took) is
//! committed by the room's task itself, on the writer's connection: with
//! edits that far apart, a batch would hold that one record anyway, and
//! handing it to the thread and back costs two of the commit's few thread
//! wake-ups (docs/BENCHMARKS.md).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::mpsc;

use super::answers::Answers;
use super::committer::{Committer, Wakes, WriterOptions};
use super::webhooks::HookedStores;
use crate::store::write_queue::{PROBE_EVERY, Reply, WriteCmd, WriterHandle, WriterHealth, ticket};
use crate::store::{Base, CommitTicket, Result};

/// What a room commits through.
pub(super) struct Writer {
    queue: WriterHandle,
    committer: Arc<Mutex<Committer>>,
    idle: Arc<Idle>,
}

/// Starts the writer's thread, which ends after a stop (or once every
/// handle is gone). Call from within the runtime: the thread waits for work
/// through it.
pub(super) fn spawn(
    options: WriterOptions,
    hooked: Arc<HookedStores>,
    wakes: Wakes,
) -> Result<(Writer, std::thread::JoinHandle<()>)> {
    let (queue, rx) = WriterHandle::new();
    let batch = options.batch.max(1);
    let committer = Committer::open(options, queue.health.clone(), hooked, wakes)?;
    let writer = Writer {
        queue,
        committer: Arc::new(Mutex::new(committer)),
        idle: Arc::new(Idle::new()),
    };
    let thread = WriterThread {
        committer: writer.committer.clone(),
        idle: writer.idle.clone(),
        health: writer.queue.health.clone(),
        answers: Answers::spawn()?,
    };
    let runtime = Handle::current();
    let thread = std::thread::Builder::new()
        .name("cartroom-writer".into())
        .spawn(move || thread.run(&runtime, rx, batch))?;
    Ok((writer, thread))
}

fn lock(committer: &Mutex<Committer>) -> MutexGuard<'_, Committer> {
    committer.lock().unwrap_or_else(|p| p.into_inner())
}

impl Writer {
    pub(super) fn health(&self) -> &WriterHealth {
        &self.queue.health
    }

    pub(super) fn try_put_base(&self, base: Base) -> bool {
        self.idle.queued.fetch_add(1, Ordering::SeqCst);
        let queued = self.queue.try_put_base(base);
        if !queued {
            self.idle.queued.fetch_sub(1, Ordering::SeqCst);
        }
        queued
    }

    /// Lets the thread finish what was queued, then stop. Nothing commits
    /// on a room's task after this: the stop stays counted as queued.
    pub(super) async fn stop(&self) {
        self.idle.queued.fetch_add(1, Ordering::SeqCst);
        self.queue.stop().await;
    }

    /// Commits the command here if the writer is idle, else queues it.
    /// Either way its ticket is answered after its commit.
    pub(super) async fn commit(&self, cmd: impl FnOnce(Reply) -> WriteCmd) -> CommitTicket {
        let (reply, ticket) = ticket();
        if let Some(cmd) = self.try_alone(cmd(reply))
            && let Some(place) = self.queue.reserve().await
        {
            // Counted before it is queued, so that a room's next record
            // does not commit alone ahead of this one, and with no wait in
            // between, so that a room's task dropped meanwhile leaves no
            // count behind. (A stopped writer drops `cmd`, and with it its
            // reply, which reads as a stopped writer.)
            self.idle.queued.fetch_add(1, Ordering::SeqCst);
            place.send(cmd);
        }
        ticket
    }

    /// Commits `cmd` alone if the writer is idle; gives it back otherwise.
    fn try_alone(&self, cmd: WriteCmd) -> Option<WriteCmd> {
        if !self.queue.health.is_healthy() || !self.idle.is_idle() {
            return Some(cmd);
        }
        let mut committer = match self.committer.try_lock() {
            Ok(committer) => committer,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return Some(cmd),
        };
        let started = Instant::now();
        if !committer.try_alone(&cmd) {
            return Some(cmd);
        }
        let changes = usize::from(matches!(cmd, WriteCmd::Change(..)));
        self.idle.committed(started, changes);
        drop(committer);
        metrics::counter!("cartroom_commits_alone_total").increment(1);
        cmd.reply(Ok(()));
        None
    }
}

/// How many of its last commit's durations the writer must have been idle
/// for a room's task to commit alone. A commit there blocks one of the
/// runtime's workers for its sync: worth it while edits are rare, not once
/// they come about as often as commits take (at 4,000 `family` ops/s, with
/// a commit's duration alone, p99 rose from 11-13 to 17-20 ms).
const IDLE_COMMITS: u64 = 4;

/// Whether the writer has nothing in hand, and how recently it committed.
struct Idle {
    /// Records queued or being written by the thread (and a stop, forever).
    queued: AtomicUsize,
    since: Instant,
    /// When the last commit ended, in µs after `since`.
    last_end: AtomicU64,
    /// How long the last commit took, in µs.
    last_took: AtomicU64,
}

impl Idle {
    fn new() -> Self {
        Self {
            queued: AtomicUsize::new(0),
            since: Instant::now(),
            last_end: AtomicU64::new(0),
            last_took: AtomicU64::new(0),
        }
    }

    fn micros(&self, at: Instant) -> u64 {
        whole_micros(at.duration_since(self.since))
    }

    /// Nothing is queued, and the last commit ended [`IDLE_COMMITS`] times
    /// longer ago than it took.
    fn is_idle(&self) -> bool {
        let now = self.micros(Instant::now());
        let since_last = now.saturating_sub(self.last_end.load(Ordering::SeqCst));
        self.queued.load(Ordering::SeqCst) == 0
            && since_last >= (self.last_took.load(Ordering::SeqCst)).saturating_mul(IDLE_COMMITS)
    }

    /// Notes a commit of `changes` records that began at `started`.
    fn committed(&self, started: Instant, changes: usize) {
        let ended = Instant::now();
        let took = ended - started;
        self.last_took.store(whole_micros(took), Ordering::SeqCst);
        self.last_end.store(self.micros(ended), Ordering::SeqCst);
        metrics::histogram!("cartroom_commit_seconds").record(took.as_secs_f64());
        metrics::histogram!("cartroom_commit_batch_changes").record(changes as f64);
    }
}

/// `d` in whole µs, saturating (an atomic holds it).
fn whole_micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The writer's thread.
struct WriterThread {
    committer: Arc<Mutex<Committer>>,
    idle: Arc<Idle>,
    health: Arc<WriterHealth>,
    /// Where each batch's answers go, after its commit.
    answers: Answers,
}

impl WriterThread {
    fn run(self, runtime: &Handle, mut rx: mpsc::Receiver<WriteCmd>, batch: usize) {
        let mut cmds = Vec::with_capacity(batch);
        loop {
            // Sleeps on the thread until a room queues something.
            let received = if self.health.is_healthy() {
                runtime.block_on(rx.recv_many(&mut cmds, batch))
            } else {
                // The timer is made inside `block_on`, in the runtime's context.
                let next = async {
                    tokio::time::timeout(PROBE_EVERY, rx.recv_many(&mut cmds, batch)).await
                };
                match runtime.block_on(next) {
                    Ok(received) => received,
                    Err(_) => {
                        lock(&self.committer).probe();
                        continue;
                    }
                }
            };
            if received == 0 {
                break;
            }
            let stop = cmds.iter().any(|c| matches!(c, WriteCmd::Stop));
            let changes = cmds
                .iter()
                .filter(|c| matches!(c, WriteCmd::Change(..)))
                .count();
            let outcomes = {
                let mut committer = lock(&self.committer);
                let started = Instant::now();
                let outcomes = match committer.write_batch(cmds.iter()) {
                    Ok(()) => vec![Ok(()); cmds.len()],
                    Err(e) => {
                        tracing::warn!(error = %e, "batch failed as a whole; writing it record by record");
                        committer.write_one_by_one(&cmds)
                    }
                };
                self.idle.committed(started, changes);
                outcomes
            };
            let answered = cmds.len() - usize::from(stop);
            let replies = cmds.drain(..).map(WriteCmd::into_reply);
            (self.answers).send(replies.zip(outcomes).filter_map(|(r, o)| Some((r?, o))));
            self.idle.queued.fetch_sub(answered, Ordering::SeqCst);
            if stop {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::FutureExt;
    use sqlx::Row;

    use super::*;
    use crate::store::ChangeLog;
    use crate::store::changelog_tests::{cart_of, change, sqlite};
    use crate::store::sqlite::SqliteStore;

    /// The seqs of the cart's changes on disk, in key order.
    async fn seqs_on_disk(store: &SqliteStore) -> Vec<i64> {
        sqlx::query("SELECT key & 4294967295 AS seq FROM change_log ORDER BY key")
            .fetch_all(&store.pool)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get("seq"))
            .collect()
    }

    /// Waits until a record would commit on the caller's task.
    async fn until_idle(store: &SqliteStore) {
        let started = Instant::now();
        while !store.writer.idle.is_idle() {
            assert!(started.elapsed() < Duration::from_secs(10), "never idle");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn a_record_that_finds_the_writer_idle_is_on_disk_when_append_returns() {
        let (store, _dir) = sqlite().await;
        let (cart, ana) = cart_of(store.as_ref()).await;
        for seq in 1..=3 {
            until_idle(&store).await;
            let ticket = store.append(change(cart, ana, seq, seq)).await;
            // Answered already: committed on this task, not the thread's.
            assert!(matches!(ticket.now_or_never(), Some(Ok(()))));
        }
        assert_eq!(seqs_on_disk(&store).await, [1, 2, 3]);
        store.close().await;
    }

    #[tokio::test]
    async fn records_queued_while_the_connection_is_busy_commit_in_order_on_the_thread() {
        let (store, _dir) = sqlite().await;
        let (cart, ana) = cart_of(store.as_ref()).await;
        let busy = lock(&store.writer.committer);
        let tickets: Vec<_> = (1..=3)
            .map(|seq| {
                let append = store.append(change(cart, ana, seq, seq));
                append.now_or_never().expect("queued without waiting")
            })
            .collect();
        assert_eq!(store.writer.idle.queued.load(Ordering::SeqCst), 3);
        drop(busy);
        for ticket in tickets {
            ticket.await.unwrap();
        }
        assert_eq!(seqs_on_disk(&store).await, [1, 2, 3]);
        store.close().await;
    }

    #[tokio::test]
    async fn a_record_that_finds_the_database_locked_waits_for_the_lock_on_the_thread() {
        let (store, _dir) = sqlite().await;
        let (cart, ana) = cart_of(store.as_ref()).await;
        let mut other = store.pool.acquire().await.unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *other)
            .await
            .unwrap();
        until_idle(&store).await;
        let mut ticket = store.append(change(cart, ana, 1, 1)).await;
        // Not committed here, and the thread waits for the lock.
        assert!((&mut ticket).now_or_never().is_none());
        sqlx::query("ROLLBACK").execute(&mut *other).await.unwrap();
        ticket.await.unwrap();
        // A lock held elsewhere is no failure of the disk: the next record
        // commits alone again.
        until_idle(&store).await;
        let ticket = store.append(change(cart, ana, 2, 2)).await;
        assert!(matches!(ticket.now_or_never(), Some(Ok(()))));
        assert!(store.writer.health().is_healthy());
        assert_eq!(seqs_on_disk(&store).await, [1, 2]);
        drop(other);
        store.close().await;
    }
}
