//! Work that may only complete after the commits queued before it: acks,
//! broadcasts, new subscriptions and reads. The queue yields them strictly
//! in the order they were queued, so commits pipeline (the room keeps
//! applying ops while earlier ones are written) and yet nobody sees a
//! change that is not on disk, and everyone sees changes in commit order.
//!
//! Only the oldest piece of work is polled. Each is a commit ticket (an
//! answer the writer sends whether or not anyone polls) or ready already,
//! so the others need no polling to finish. (`FuturesOrdered` polls every
//! one, and after polling a newly queued ticket that is not done yet it
//! wakes its own task again to yield: one more wake-up of a runtime worker
//! per op, docs/BENCHMARKS.md.)

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::task::{Poll, ready};

use bytes::Bytes;
use cartroom_protocol::http::OpAck;
use cartroom_protocol::{ActivityEvent, ConnId, ErrorCode};
use futures_util::future::BoxFuture;

use super::edits::CartEdit;
use super::engine::Room;
use super::frame::Frame;
use super::ops::AckTarget;
use super::subscriber::SubscriberHandle;
use super::subscribers::{JoinId, Welcome};
use crate::refusal::Refusal;
use crate::store::CommitError;

/// The queue of a room's pending work, oldest first.
#[derive(Default)]
pub(super) struct Pending(VecDeque<BoxFuture<'static, Completed>>);

impl Pending {
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Queues work that completes when `work` does: a commit's ticket,
    /// which finishes without being polled (see the module's notes).
    pub(super) fn push_after(&mut self, work: impl Future<Output = Completed> + Send + 'static) {
        self.0.push_back(Box::pin(work));
    }

    /// Queues work that needs no commit of its own, only the earlier ones.
    pub(super) fn push_ready(&mut self, done: Completed) {
        self.0.push_back(Box::pin(std::future::ready(done)));
    }

    /// The oldest work, once it is ready; `None` when nothing is queued.
    /// Cancel-safe: the work stays queued until it is returned.
    pub(super) async fn next(&mut self) -> Option<Completed> {
        poll_fn(|cx| {
            let Some(oldest) = self.0.front_mut() else {
                return Poll::Ready(None);
            };
            let done = ready!(oldest.as_mut().poll(cx));
            self.0.pop_front();
            Poll::Ready(Some(done))
        })
        .await
    }
}

/// A piece of pending work, ready to complete.
pub(super) enum Completed {
    /// An op's change was committed (or not).
    Commit {
        result: Result<(), CommitError>,
        seq: i64,
        /// The change's bytes, for the frames each stream gets.
        change: Bytes,
        /// The view stream's patch, when someone was on it.
        view_patch: Option<json_patch::Patch>,
        ack: OpAck,
        target: AckTarget,
        activity: ActivityEvent,
        /// The quantities it changed, for the edit tap.
        edit: Option<Box<CartEdit>>,
    },
    /// An ack with no change of its own: a retry, or an op that changed nothing.
    Ack { ack: OpAck, target: AckTarget },
    /// A subscription whose document is ready to go.
    Subscribe {
        conn: SubscriberHandle,
        join: JoinId,
        welcome: Welcome,
    },
    /// A read's answer, sent in turn.
    Reply(Box<dyn FnOnce() + Send>),
    /// A subscription ended at its connection's request, after what that
    /// connection asked before (its ops' changes and acks, its `subscribed`).
    Unsubscribe { conn_id: ConnId, join: JoinId },
    /// An activity event that is not a change (chat, membership), saved.
    Note {
        result: Result<(), CommitError>,
        /// The chat's author, told if saving fails.
        author: Option<SubscriberHandle>,
        event: ActivityEvent,
        frame: Frame,
    },
}

impl Room {
    /// Finishes work whose commits are done. False when the room must stop
    /// (a commit failed: the document holds a change that is not durable).
    pub(super) fn complete(&mut self, done: Completed) -> bool {
        if self.failed {
            self.complete_after_failure(done);
            return false;
        }
        match done {
            Completed::Commit {
                result,
                seq,
                change,
                view_patch,
                ack,
                target,
                activity,
                edit,
            } => {
                if let Err(e) = result {
                    tracing::error!(error = %e, seq, "commit failed; unloading the room");
                    self.failed = true;
                    self.refuse_op(target, ack.op_id, not_saved());
                    self.unsubscribe_all("unavailable");
                    return false;
                }
                self.broadcast_change(&change, &activity, &ack.heads, view_patch);
                // Before the ack: whoever hears of the ack may count on
                // the tap having heard the edit.
                if let Some(edit) = edit {
                    self.env.edits.edited(*edit);
                }
                self.ack(target, ack);
                self.broadcast_change_activity(&activity);
                self.activity.push(activity);
                self.maybe_new_epoch();
            }
            Completed::Ack { ack, target } => self.ack(target, ack),
            Completed::Subscribe {
                conn,
                join,
                welcome,
            } => self.complete_join(conn, join, welcome),
            Completed::Reply(send) => send(),
            Completed::Unsubscribe { conn_id, join } => self.unsubscribe_requested(conn_id, join),
            Completed::Note {
                result,
                author,
                event,
                frame,
            } => match result {
                Ok(()) => {
                    self.activity.push(event);
                    self.broadcast(frame);
                }
                Err(e) => {
                    tracing::warn!(error = %e, kind = %event.kind, "an activity event could not be saved");
                    if let Some(conn) = author {
                        conn.deliver(Frame::refusal(
                            &Refusal::new(
                                ErrorCode::Unavailable,
                                "the message could not be sent; try again",
                            ),
                            Some(self.cart_id),
                            None,
                        ));
                    }
                }
            },
        }
        true
    }

    /// Once a commit has failed, the document holds a change that is not
    /// durable, and everything queued after it was computed with that
    /// change: nothing of it may be shown. Ops are refused (a retry will
    /// be applied afresh by the reloaded room), reads go unanswered (the
    /// caller hears `unavailable`), and subscriptions were ended already.
    fn complete_after_failure(&mut self, done: Completed) {
        match done {
            Completed::Commit { ack, target, .. } | Completed::Ack { ack, target } => {
                self.refuse_op(target, ack.op_id, not_saved());
            }
            Completed::Subscribe { .. }
            | Completed::Reply(_)
            | Completed::Unsubscribe { .. }
            | Completed::Note { .. } => {}
        }
    }
}

fn not_saved() -> Refusal {
    Refusal::new(
        ErrorCode::Unavailable,
        "the cart could not be saved; try again",
    )
}
