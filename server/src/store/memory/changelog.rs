//! The change log in memory, and the commit queue that tests steer: held,
//! writes wait in order until released; failing, they are refused as a
//! full disk would refuse them.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use cartroom_protocol::{ActivityEvent, CartId};
use tokio::sync::oneshot;

use super::{CartLog, MemoryStore, State};
use crate::store::{
    CartState, ChangeLog, ChangeRecord, CommitError, CommitTicket, LoadLimits, Result, Snapshot,
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
    Change(ChangeRecord),
    Activity(CartId, ActivityEvent),
    Snapshot(Snapshot),
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
            Write::Change(record) => commit_change(&mut state, record),
            Write::Activity(cart, event) => {
                log_of(&mut state, cart)?.activity.push(event);
                Ok(())
            }
            Write::Snapshot(snapshot) => {
                let log = log_of(&mut state, snapshot.cart_id)?;
                log.snapshot = snapshot.bytes;
                log.snapshot_seq = snapshot.upto_seq;
                log.changes = log.changes.split_off(&(snapshot.upto_seq + 1));
                log.applied_ops
                    .retain(|(_, _, seq)| *seq >= snapshot.forget_ops_before);
                Ok(())
            }
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
    if record.seq <= log.snapshot_seq || log.changes.contains_key(&record.seq) {
        return Err(CommitError::Failed(
            format!("change {} of cart {} exists", record.seq, record.cart_id).into(),
        ));
    }
    // As in the database: a change whose predecessor is not durable is refused.
    let prev = record.seq - 1;
    if prev > log.snapshot_seq && !log.changes.contains_key(&prev) {
        return Err(CommitError::Failed(
            format!(
                "change {} of cart {} does not follow the stored log",
                record.seq, record.cart_id
            )
            .into(),
        ));
    }
    log.changes.insert(record.seq, record.bytes);
    log.applied_ops
        .push((record.user_id, record.op_id, record.seq));
    log.activity.push(record.activity.clone());
    if let Some(row) = state.carts.get_mut(&record.cart_id) {
        row.name = record.name;
        row.line_count = record.line_count;
        row.subtotal = record.activity.subtotal;
        row.updated_at = record.activity.at;
        row.lock_deadline = record.lock_deadline;
    }
    Ok(())
}

#[async_trait]
impl ChangeLog for MemoryStore {
    async fn load_cart(&self, cart: CartId, limits: LoadLimits) -> Result<Option<CartState>> {
        let state = self.state();
        let Some(log) = state.logs.get(&cart) else {
            return Ok(None);
        };
        let recent = |len: usize, keep: usize| len.saturating_sub(keep);
        Ok(Some(CartState {
            store_id: state
                .carts
                .get(&cart)
                .map(|row| row.store_id.clone())
                .unwrap_or_default(),
            snapshot: log.snapshot.clone(),
            changes: log.changes.values().cloned().collect(),
            last_seq: log
                .changes
                .keys()
                .next_back()
                .copied()
                .unwrap_or(log.snapshot_seq),
            snapshot_seq: log.snapshot_seq,
            applied_ops: log.applied_ops[recent(log.applied_ops.len(), limits.op_memory)..]
                .iter()
                .map(|(user, op, _)| (*user, op.clone()))
                .collect(),
            activity: log.activity[recent(log.activity.len(), limits.activity_memory)..].to_vec(),
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
        self.ticket(Write::Change(record))
    }

    async fn append_activity(&self, cart: CartId, event: ActivityEvent) -> CommitTicket {
        self.ticket(Write::Activity(cart, event))
    }

    fn try_snapshot(&self, snapshot: Snapshot) -> bool {
        self.enqueue(Write::Snapshot(snapshot), None);
        true
    }

    async fn recent_activity(&self, cart: CartId, limit: usize) -> Result<Vec<ActivityEvent>> {
        let state = self.state();
        let events = state
            .logs
            .get(&cart)
            .map(|l| l.activity.as_slice())
            .unwrap_or_default();
        Ok(events[events.len().saturating_sub(limit)..].to_vec())
    }
}
