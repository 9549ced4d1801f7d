//! The queue in front of a group-commit writer (SQLite's and Postgres's):
//! rooms queue records and await a ticket; the writer takes everything
//! queued, writes it in one transaction and only then answers each record.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cartroom_protocol::{ActivityEvent, CartId};
use tokio::sync::{mpsc, oneshot};

use super::{Base, ChangeRecord, CommitError, CommitTicket, Result};

/// Queue depth in front of the writer; a full queue slows rooms down.
const QUEUE: usize = 8192;
/// How often a failing writer tries the database again when nothing is queued.
pub(super) const PROBE_EVERY: Duration = Duration::from_millis(250);

pub(super) type Reply = oneshot::Sender<Result<(), CommitError>>;

/// Work for the writer.
#[derive(Debug)]
pub(super) enum WriteCmd {
    /// Append a change; the reply comes after commit.
    Change(Box<ChangeRecord>, Reply),
    /// Record an activity event that is not a change, of a room with this
    /// lease term; the reply comes after commit.
    Activity {
        cart_id: CartId,
        term: i64,
        event: ActivityEvent,
        reply: Reply,
    },
    /// Put a base of the cart's document (`Base`).
    Base(Base),
    /// Finish everything queued before this, then stop.
    Stop,
}

impl WriteCmd {
    /// A change, once told where its outcome goes.
    pub(super) fn change(record: ChangeRecord) -> impl FnOnce(Reply) -> Self {
        move |reply| Self::Change(Box::new(record), reply)
    }

    /// An activity event that is not a change, once told where its outcome goes.
    pub(super) fn activity(
        cart_id: CartId,
        term: i64,
        event: ActivityEvent,
    ) -> impl FnOnce(Reply) -> Self {
        move |reply| Self::Activity {
            cart_id,
            term,
            event,
            reply,
        }
    }

    pub(super) fn reply(self, outcome: Result<(), CommitError>) {
        if let Some(reply) = self.into_reply() {
            let _ = reply.send(outcome);
        }
    }

    /// Where the outcome goes, for the commands that await one.
    pub(super) fn into_reply(self) -> Option<Reply> {
        match self {
            Self::Change(_, reply) | Self::Activity { reply, .. } => Some(reply),
            Self::Base(_) | Self::Stop => None,
        }
    }

    /// The cart and lease term of a record (none for a stop).
    pub(super) fn lease(&self) -> Option<(CartId, i64)> {
        match self {
            Self::Change(record, _) => Some((record.cart_id, record.term)),
            Self::Activity { cart_id, term, .. } => Some((*cart_id, *term)),
            Self::Base(base) => Some((base.cart_id, base.term)),
            Self::Stop => None,
        }
    }
}

/// Whether the writer's last attempt to write succeeded; read by `/healthz`.
#[derive(Debug)]
pub(super) struct WriterHealth(AtomicBool);

impl WriterHealth {
    pub(super) fn is_healthy(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    pub(super) fn set(&self, healthy: bool) {
        if self.0.swap(healthy, Ordering::Relaxed) != healthy {
            metrics::gauge!("cartroom_writer_healthy").set(f64::from(u8::from(healthy)));
            if healthy {
                tracing::info!("the writer can write again");
            }
        }
    }
}

/// Sends work to the writer task.
#[derive(Clone, Debug)]
pub(super) struct WriterHandle {
    tx: mpsc::Sender<WriteCmd>,
    pub(super) health: Arc<WriterHealth>,
}

impl WriterHandle {
    /// A handle and the receiving end its writer task reads.
    pub(super) fn new() -> (Self, mpsc::Receiver<WriteCmd>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let health = Arc::new(WriterHealth(AtomicBool::new(true)));
        (Self { tx, health }, rx)
    }

    pub(super) async fn append(&self, record: ChangeRecord) -> CommitTicket {
        self.queue(WriteCmd::change(record)).await
    }

    pub(super) async fn append_activity(
        &self,
        cart_id: CartId,
        term: i64,
        event: ActivityEvent,
    ) -> CommitTicket {
        self.queue(WriteCmd::activity(cart_id, term, event)).await
    }

    async fn queue(&self, cmd: impl FnOnce(Reply) -> WriteCmd) -> CommitTicket {
        let (reply, ticket) = ticket();
        // A closed writer drops `reply`, which reads as a stopped writer.
        let _ = self.tx.send(cmd(reply)).await;
        ticket
    }

    /// A place in the queue, taken once there is room (`None`: the writer
    /// stopped). Sending on it does not wait.
    pub(super) async fn reserve(&self) -> Option<mpsc::Permit<'_, WriteCmd>> {
        self.tx.reserve().await.ok()
    }

    pub(super) fn try_put_base(&self, base: Base) -> bool {
        self.tx.try_send(WriteCmd::Base(base)).is_ok()
    }

    pub(super) async fn stop(&self) {
        let _ = self.tx.send(WriteCmd::Stop).await;
    }
}

/// Where a command's outcome goes, and the ticket that awaits it.
pub(super) fn ticket() -> (Reply, CommitTicket) {
    let (reply, rx) = oneshot::channel();
    let ticket = async move { rx.await.unwrap_or(Err(CommitError::WriterStopped)) };
    (reply, Box::pin(ticket))
}

/// The changes and the other activity events among `cmds`, in order.
pub(super) fn records_of<'a>(
    cmds: impl Iterator<Item = &'a WriteCmd>,
) -> (Vec<&'a ChangeRecord>, Vec<(CartId, &'a ActivityEvent)>) {
    let mut changes = Vec::new();
    let mut activity = Vec::new();
    for cmd in cmds {
        match cmd {
            WriteCmd::Change(record, _) => changes.push(&**record),
            // A change's activity is in its own row.
            WriteCmd::Activity { cart_id, event, .. } => activity.push((*cart_id, event)),
            WriteCmd::Base(_) | WriteCmd::Stop => {}
        }
    }
    (changes, activity)
}
