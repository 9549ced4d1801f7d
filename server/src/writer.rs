//! The group-commit writer: one task that owns every write of the change log.
//!
//! Rooms send it records and await a reply; it takes everything queued (up
//! to `commit_batch`), writes it in one transaction, commits (one fsync for
//! the batch) and only then answers each sender. Rooms ack and broadcast
//! after that answer, so an acknowledged edit is always on disk.

use std::collections::HashMap;
use std::time::Instant;

use cartroom_protocol::{ActivityEvent, CartId, UserId};
use sqlx::{QueryBuilder, Sqlite, SqlitePool, Transaction};
use tokio::sync::{mpsc, oneshot};

use crate::store::StoreError;

/// Queue depth in front of the writer; a full queue slows rooms down.
const QUEUE: usize = 8192;

/// One accepted change and everything recorded with it.
#[derive(Debug)]
pub struct ChangeRecord {
    pub cart_id: CartId,
    pub seq: i64,
    pub bytes: Vec<u8>,
    pub user_id: UserId,
    pub op_id: String,
    pub activity: ActivityEvent,
    /// Mirrors of the document for listing carts without loading them.
    pub name: String,
    pub line_count: i64,
}

/// How a commit went; the error is for logs.
pub type Committed = Result<(), String>;

/// Work for the writer.
#[derive(Debug)]
pub enum WriteCmd {
    /// Append a change; the reply comes after commit.
    Change(ChangeRecord, oneshot::Sender<Committed>),
    /// Record an activity event that is not a change (chat); the reply
    /// comes after commit.
    Activity(CartId, ActivityEvent, oneshot::Sender<Committed>),
    /// Replace the cart's snapshot and trim the log up to `upto_seq`.
    Snapshot {
        cart_id: CartId,
        upto_seq: i64,
        bytes: Vec<u8>,
        /// Op ids older than this sequence number are forgotten.
        forget_ops_before: i64,
    },
    /// Finish everything queued before this, then stop.
    Stop,
}

/// Sends work to the writer task.
#[derive(Clone, Debug)]
pub struct WriterHandle {
    tx: mpsc::Sender<WriteCmd>,
}

impl WriterHandle {
    /// Appends a change; the returned future resolves once it is committed
    /// (or failed to be).
    pub async fn append(
        &self,
        record: ChangeRecord,
    ) -> impl Future<Output = Committed> + Send + 'static {
        self.queue(move |reply| WriteCmd::Change(record, reply))
            .await
    }

    /// Records an activity event; the returned future resolves once it is committed.
    pub async fn append_activity(
        &self,
        cart_id: CartId,
        event: ActivityEvent,
    ) -> impl Future<Output = Committed> + Send + 'static {
        self.queue(move |reply| WriteCmd::Activity(cart_id, event, reply))
            .await
    }

    async fn queue(
        &self,
        cmd: impl FnOnce(oneshot::Sender<Committed>) -> WriteCmd,
    ) -> impl Future<Output = Committed> + Send + 'static {
        let (reply, rx) = oneshot::channel();
        // A closed writer drops `reply`, which reads as a failed commit.
        let _ = self.tx.send(cmd(reply)).await;
        async move { rx.await.unwrap_or_else(|_| Err("writer stopped".into())) }
    }

    /// Queues work unless the queue is full.
    pub fn try_send(&self, cmd: WriteCmd) -> bool {
        self.tx.try_send(cmd).is_ok()
    }

    pub async fn send(&self, cmd: WriteCmd) {
        let _ = self.tx.send(cmd).await;
    }
}

/// Starts the writer; the returned join handle ends after [`WriteCmd::Stop`].
pub fn spawn(pool: SqlitePool, batch: usize) -> (WriterHandle, tokio::task::JoinHandle<()>) {
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
        let mut outcomes = Vec::with_capacity(cmds.len());
        let committed = match write_at_once(&pool, &cmds).await {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "batch failed as a whole; writing it record by record");
                write_batch(&pool, &cmds, &mut outcomes).await
            }
        };
        let changes = cmds
            .iter()
            .filter(|c| matches!(c, WriteCmd::Change(..)))
            .count();
        metrics::histogram!("cartroom_commit_seconds").record(started.elapsed().as_secs_f64());
        metrics::histogram!("cartroom_commit_batch_changes").record(changes as f64);
        if let Err(e) = &committed {
            tracing::error!(error = %e, changes, "group commit failed");
        }
        for (i, cmd) in cmds.drain(..).enumerate() {
            if let WriteCmd::Change(_, tx) | WriteCmd::Activity(_, _, tx) = cmd {
                let reply = match (&committed, outcomes.get(i)) {
                    (Err(e), _) => Err(e.to_string()),
                    (Ok(()), Some(Err(e))) => Err(e.clone()),
                    (Ok(()), _) => Ok(()),
                };
                let _ = tx.send(reply);
            }
        }
        if stop {
            return;
        }
    }
}

/// Rows per multi-row INSERT, well under SQLite's bound-variable limit.
const ROWS_PER_INSERT: usize = 100;

/// Writes the batch in one transaction with a few multi-row statements: the
/// single SQLite connection is the writer's bottleneck, and each statement
/// is a round trip to it.
async fn write_at_once(pool: &SqlitePool, cmds: &[WriteCmd]) -> Result<(), StoreError> {
    let changes: Vec<&ChangeRecord> = cmds
        .iter()
        .filter_map(|c| match c {
            WriteCmd::Change(record, _) => Some(record),
            _ => None,
        })
        .collect();
    let activity: Vec<(CartId, &ActivityEvent)> = cmds
        .iter()
        .filter_map(|c| match c {
            WriteCmd::Change(record, _) => Some((record.cart_id, &record.activity)),
            WriteCmd::Activity(cart_id, event, _) => Some((*cart_id, event)),
            _ => None,
        })
        .collect();
    // Only the latest summary of each cart matters.
    let mut summaries: HashMap<CartId, &ChangeRecord> = HashMap::new();
    for record in &changes {
        summaries.insert(record.cart_id, record);
    }
    let summaries: Vec<&ChangeRecord> = summaries.into_values().collect();

    let mut tx = pool.begin().await?;
    for chunk in changes.chunks(ROWS_PER_INSERT) {
        QueryBuilder::<Sqlite>::new("INSERT INTO changes (cart_id, seq, bytes) ")
            .push_values(chunk, |mut row, r| {
                row.push_bind(r.cart_id.to_string())
                    .push_bind(r.seq)
                    .push_bind(r.bytes.as_slice());
            })
            .build()
            .execute(&mut *tx)
            .await?;
        QueryBuilder::<Sqlite>::new(
            "INSERT OR IGNORE INTO applied_ops (cart_id, user_id, op_id, seq) ",
        )
        .push_values(chunk, |mut row, r| {
            row.push_bind(r.cart_id.to_string())
                .push_bind(r.user_id.to_string())
                .push_bind(r.op_id.as_str())
                .push_bind(r.seq);
        })
        .build()
        .execute(&mut *tx)
        .await?;
    }
    for chunk in activity.chunks(ROWS_PER_INSERT) {
        QueryBuilder::<Sqlite>::new(
            "INSERT INTO activity (cart_id, seq, at, user_id, user_name, kind, text, subtotal, currency) ",
        )
        .push_values(chunk, |mut row, (cart_id, e)| {
            row.push_bind(cart_id.to_string())
                .push_bind(e.seq)
                .push_bind(e.at)
                .push_bind(e.user_id.to_string())
                .push_bind(e.user_name.as_str())
                .push_bind(e.kind.as_str())
                .push_bind(e.text.as_str())
                .push_bind(e.subtotal)
                .push_bind(e.currency.as_str());
        })
        .build()
        .execute(&mut *tx)
        .await?;
    }
    for chunk in summaries.chunks(ROWS_PER_INSERT) {
        let mut query =
            QueryBuilder::<Sqlite>::new("WITH v (id, name, subtotal, line_count, updated_at) AS (");
        query
            .push_values(chunk, |mut row, r| {
                row.push_bind(r.cart_id.to_string())
                    .push_bind(r.name.as_str())
                    .push_bind(r.activity.subtotal)
                    .push_bind(r.line_count)
                    .push_bind(r.activity.at);
            })
            .push(
                ") UPDATE carts SET name = v.name, subtotal = v.subtotal, line_count = v.line_count, \
                 updated_at = v.updated_at FROM v WHERE carts.id = v.id",
            );
        query.build().execute(&mut *tx).await?;
    }
    for cmd in cmds {
        if let WriteCmd::Snapshot { .. } = cmd {
            write_one(&mut tx, cmd).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Writes the batch in one transaction. Each command runs in its own savepoint,
/// so that one bad record (say, of a cart deleted meanwhile) fails alone;
/// `outcomes[i]` says how command `i` went.
async fn write_batch(
    pool: &SqlitePool,
    cmds: &[WriteCmd],
    outcomes: &mut Vec<Result<(), String>>,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for cmd in cmds {
        let mut savepoint = sqlx::Acquire::begin(&mut *tx).await?;
        let result = write_one(&mut savepoint, cmd).await;
        match &result {
            Ok(()) => savepoint.commit().await?,
            Err(e) => {
                tracing::warn!(error = %e, "a write in the batch failed");
                savepoint.rollback().await?;
            }
        }
        outcomes.push(result.map_err(|e| e.to_string()));
    }
    tx.commit().await?;
    Ok(())
}

async fn write_one(tx: &mut Transaction<'_, Sqlite>, cmd: &WriteCmd) -> Result<(), StoreError> {
    {
        match cmd {
            WriteCmd::Change(record, _) => write_change(tx, record).await?,
            WriteCmd::Activity(cart_id, event, _) => write_activity(tx, *cart_id, event).await?,
            WriteCmd::Snapshot {
                cart_id,
                upto_seq,
                bytes,
                forget_ops_before,
            } => {
                let id = cart_id.to_string();
                sqlx::query(
                    "INSERT INTO snapshots (cart_id, upto_seq, bytes) VALUES (?, ?, ?)
                     ON CONFLICT (cart_id) DO UPDATE SET upto_seq = excluded.upto_seq, bytes = excluded.bytes",
                )
                .bind(&id)
                .bind(upto_seq)
                .bind(bytes)
                .execute(&mut **tx)
                .await?;
                sqlx::query("DELETE FROM changes WHERE cart_id = ? AND seq <= ?")
                    .bind(&id)
                    .bind(upto_seq)
                    .execute(&mut **tx)
                    .await?;
                sqlx::query("DELETE FROM applied_ops WHERE cart_id = ? AND seq < ?")
                    .bind(&id)
                    .bind(forget_ops_before)
                    .execute(&mut **tx)
                    .await?;
            }
            WriteCmd::Stop => {}
        }
    }
    Ok(())
}

async fn write_change(
    tx: &mut Transaction<'_, Sqlite>,
    record: &ChangeRecord,
) -> Result<(), StoreError> {
    let id = record.cart_id.to_string();
    sqlx::query("INSERT INTO changes (cart_id, seq, bytes) VALUES (?, ?, ?)")
        .bind(&id)
        .bind(record.seq)
        .bind(&record.bytes)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT OR IGNORE INTO applied_ops (cart_id, user_id, op_id, seq) VALUES (?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(record.user_id.to_string())
    .bind(&record.op_id)
    .bind(record.seq)
    .execute(&mut **tx)
    .await?;
    write_activity(tx, record.cart_id, &record.activity).await?;
    sqlx::query(
        "UPDATE carts SET name = ?, subtotal = ?, line_count = ?, updated_at = ? WHERE id = ?",
    )
    .bind(&record.name)
    .bind(record.activity.subtotal)
    .bind(record.line_count)
    .bind(record.activity.at)
    .bind(&id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_activity(
    tx: &mut Transaction<'_, Sqlite>,
    cart_id: CartId,
    event: &ActivityEvent,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO activity (cart_id, seq, at, user_id, user_name, kind, text, subtotal, currency)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(cart_id.to_string())
    .bind(event.seq)
    .bind(event.at)
    .bind(event.user_id.to_string())
    .bind(&event.user_name)
    .bind(&event.kind)
    .bind(&event.text)
    .bind(event.subtotal)
    .bind(event.currency.clone())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
