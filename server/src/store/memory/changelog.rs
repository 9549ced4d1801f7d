//! The change log in memory, and the commit queue that tests steer: held,
//! writes wait in order until released; failing, they are refused as a
//! full disk would refuse them.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use cartroom_protocol::{ActivityEvent, CartId, OpId, UserId};
use tokio::sync::oneshot;

use super::{CartLog, EpochRow, MemoryStore, State, StoredChange};
use crate::store::{
    Base, CartState, ChangeLog, ChangeRecord, CommitError, CommitTicket, EpochInfo, LoadLimits,
    Result,
};

/// The commit queue of a [`MemoryStore`].
#[derive(Default)]
pub struct CommitGate {
    /// Locked only to queue or take writes; nothing awaits under it.
    inner: Mutex<GateState>,
}

#[derive(Default)]
struct GateState {
    held: bool,
    failing: bool,
    queue: VecDeque<Queued>,
}

struct Queued {
    write: Write,
    reply: Option<oneshot::Sender<Result<(), CommitError>>>,
}

enum Write {
    Change(Box<ChangeRecord>),
    Activity(CartId, ActivityEvent),
    Base(Base),
}

impl CommitGate {
    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl MemoryStore {
    /// From now on writes wait in the queue until released.
    pub fn hold_commits(&self) {
        self.gate.lock().held = true;
    }

    /// Commits the `n` oldest queued writes, in order; returns how many there were.
    pub fn release_commits(&self, n: usize) -> usize {
        let taken: Vec<Queued> = {
            let mut gate = self.gate.lock();
            let n = n.min(gate.queue.len());
            gate.queue.drain(..n).collect()
        };
        let failing = self.gate.lock().failing;
        let count = taken.len();
        for queued in taken {
            let outcome = self.commit(queued.write, failing);
            if let Some(reply) = queued.reply {
                let _ = reply.send(outcome);
            }
        }
        count
    }

    /// Commits everything queued and stops holding.
    pub fn release_all_commits(&self) {
        self.gate.lock().held = false;
        while self.release_commits(usize::MAX) > 0 {}
    }

    /// Writes queued now.
    pub fn queued_commits(&self) -> usize {
        self.gate.lock().queue.len()
    }

    /// While true, every write fails when it would commit.
    pub fn fail_commits(&self, failing: bool) {
        self.gate.lock().failing = failing;
    }

    fn enqueue(&self, write: Write, reply: Option<oneshot::Sender<Result<(), CommitError>>>) {
        let mut gate = self.gate.lock();
        if gate.held || !gate.queue.is_empty() {
            gate.queue.push_back(Queued { write, reply });
            return;
        }
        let failing = gate.failing;
        drop(gate);
        let outcome = self.commit(write, failing);
        if let Some(reply) = reply {
            let _ = reply.send(outcome);
        }
    }

    fn commit(&self, write: Write, failing: bool) -> Result<(), CommitError> {
        if failing {
            return Err(CommitError::Failed(
                "the memory store is failing writes".into(),
            ));
        }
        let mut state = self.state();
        match write {
            Write::Change(record) => commit_change(&mut state, *record),
            Write::Activity(cart, event) => {
                log_of(&mut state, cart)?.activity.push(event);
                Ok(())
            }
            Write::Base(base) => put_base(log_of(&mut state, base.cart_id)?, base),
        }
    }

    fn ticket(&self, write: Write) -> CommitTicket {
        let (reply, rx) = oneshot::channel();
        self.enqueue(write, Some(reply));
        Box::pin(async move { rx.await.unwrap_or(Err(CommitError::WriterStopped)) })
    }
}

fn log_of(state: &mut State, cart: CartId) -> Result<&mut CartLog, CommitError> {
    state
        .logs
        .get_mut(&cart)
        .ok_or_else(|| CommitError::Failed(format!("no cart {cart}").into()))
}

fn commit_change(state: &mut State, record: ChangeRecord) -> Result<(), CommitError> {
    let log = log_of(state, record.cart_id)?;
    let base_seq = log.current().base_seq;
    if record.epoch != log.current().epoch {
        return Err(CommitError::Failed(
            format!(
                "change {} of cart {} is of epoch {}, not the current {}",
                record.seq,
                record.cart_id,
                record.epoch,
                log.current().epoch
            )
            .into(),
        ));
    }
    if record.seq <= base_seq || log.changes.contains_key(&record.seq) {
        return Err(CommitError::Failed(
            format!("change {} of cart {} exists", record.seq, record.cart_id).into(),
        ));
    }
    // As in the database: a change whose predecessor is not durable is refused.
    let prev = record.seq - 1;
    if prev > base_seq && !log.changes.contains_key(&prev) {
        return Err(CommitError::Failed(
            format!(
                "change {} of cart {} does not follow the stored log",
                record.seq, record.cart_id
            )
            .into(),
        ));
    }
    let figures = (
        record.activity.subtotal,
        record.line_count,
        record.activity.at,
    );
    log.changes.insert(
        record.seq,
        StoredChange {
            bytes: record.bytes,
            user_id: record.user_id,
            op_id: record.op_id,
            activity: record.activity,
        },
    );
    // The row's figures are the latest change's; its name and deadline
    // change only with a summary, as in the database.
    if let Some(row) = state.carts.get_mut(&record.cart_id) {
        (row.subtotal, row.line_count, row.updated_at) = figures;
        if let Some(summary) = record.summary {
            row.name = summary.name;
            row.lock_deadline = summary.lock_deadline;
        }
    }
    Ok(())
}

/// Same epoch: replaces its base; a later one: starts it.
fn put_base(log: &mut CartLog, base: Base) -> Result<(), CommitError> {
    let current = log.current_mut();
    if base.epoch < current.epoch {
        return Err(CommitError::Failed(
            format!(
                "a base of epoch {} of cart {} comes after a later epoch's",
                base.epoch, base.cart_id
            )
            .into(),
        ));
    }
    if base.epoch == current.epoch {
        current.base_seq = base.base_seq;
        current.bytes = base.bytes;
    } else {
        log.epochs.push(EpochRow {
            epoch: base.epoch,
            start_seq: base.base_seq,
            base_seq: base.base_seq,
            started_at: base.at,
            bytes: base.bytes,
        });
    }
    Ok(())
}

impl CartLog {
    /// The current epoch (a cart is created with epoch 0).
    fn current(&self) -> &EpochRow {
        self.epochs.last().expect("a cart has a base")
    }

    fn current_mut(&mut self) -> &mut EpochRow {
        self.epochs.last_mut().expect("a cart has a base")
    }

    /// The latest `limit` activity events, changes' and others', oldest first.
    fn recent_activity(&self, limit: usize) -> Vec<ActivityEvent> {
        let changes = self.changes.values().rev().map(|c| &c.activity);
        let mut events: Vec<ActivityEvent> = changes
            .take(limit)
            .chain(self.activity.iter().rev().take(limit))
            .cloned()
            .collect();
        events.sort_by_key(|e| e.seq);
        events.split_off(events.len().saturating_sub(limit))
    }
}

#[async_trait]
impl ChangeLog for MemoryStore {
    async fn load_cart(&self, cart: CartId, limits: LoadLimits) -> Result<Option<CartState>> {
        let state = self.state();
        let Some(log) = state.logs.get(&cart) else {
            return Ok(None);
        };
        let base = log.current();
        let after = log.changes.range(base.base_seq + 1..);
        let mut applied_ops: Vec<(UserId, OpId)> = (log.changes.values().rev())
            .take(limits.op_memory)
            .map(|c| (c.user_id, c.op_id.clone()))
            .collect();
        applied_ops.reverse();
        Ok(Some(CartState {
            store_id: state
                .carts
                .get(&cart)
                .map(|row| row.store_id.clone())
                .unwrap_or_default(),
            epoch: base.epoch,
            snapshot: base.bytes.clone(),
            changes: after.map(|(_, c)| c.bytes.clone()).collect(),
            last_seq: (log.changes.keys().next_back().copied())
                .unwrap_or_default()
                .max(base.base_seq),
            snapshot_seq: base.base_seq,
            applied_ops,
            activity: log.recent_activity(limits.activity_memory),
            members: state
                .members
                .get(&cart)
                .into_iter()
                .flatten()
                .filter_map(|(user, _)| Some((*user, state.users.get(user)?.user.name.clone())))
                .collect(),
        }))
    }

    async fn append(&self, record: ChangeRecord) -> CommitTicket {
        self.ticket(Write::Change(Box::new(record)))
    }

    async fn append_activity(
        &self,
        cart: CartId,
        _term: i64,
        event: ActivityEvent,
    ) -> CommitTicket {
        self.ticket(Write::Activity(cart, event))
    }

    fn try_put_base(&self, base: Base) -> bool {
        self.enqueue(Write::Base(base), None);
        true
    }

    async fn recent_activity(&self, cart: CartId, limit: usize) -> Result<Vec<ActivityEvent>> {
        let state = self.state();
        Ok(state
            .logs
            .get(&cart)
            .map(|log| log.recent_activity(limit))
            .unwrap_or_default())
    }

    async fn epochs(&self, cart: CartId) -> Result<Vec<EpochInfo>> {
        let state = self.state();
        let Some(log) = state.logs.get(&cart) else {
            return Ok(Vec::new());
        };
        let last_change = log.changes.keys().next_back().copied().unwrap_or_default();
        let current_last = last_change.max(log.current().base_seq);
        Ok(log
            .epochs
            .iter()
            .enumerate()
            .map(|(i, e)| EpochInfo {
                epoch: e.epoch,
                base_seq: e.start_seq,
                started_at: e.started_at,
                last_seq: log.epochs.get(i + 1).map_or(current_last, |n| n.start_seq),
            })
            .collect())
    }

    async fn epoch_doc_parts(
        &self,
        cart: CartId,
        epoch: i64,
    ) -> Result<Option<(Vec<u8>, Vec<Vec<u8>>)>> {
        let state = self.state();
        let Some(log) = state.logs.get(&cart) else {
            return Ok(None);
        };
        let Some(i) = log.epochs.iter().position(|e| e.epoch == epoch) else {
            return Ok(None);
        };
        let base = &log.epochs[i];
        let end = log.epochs.get(i + 1).map_or(i64::MAX, |n| n.start_seq);
        let changes = (log.changes.range(base.base_seq + 1..=end))
            .map(|(_, c)| c.bytes.clone())
            .collect();
        Ok(Some((base.bytes.clone(), changes)))
    }
}
