//! Work that may only complete after the commits queued before it: acks,
//! broadcasts, new subscriptions and reads. A `FuturesOrdered` yields them
//! strictly in the order they were queued, so commits pipeline (the room
//! keeps applying ops while earlier ones are written) and yet nobody sees a
//! change that is not on disk, and everyone sees changes in commit order.

use std::future::Future;

use bytes::Bytes;
use cartroom_protocol::http::OpAck;
use cartroom_protocol::{ActivityEvent, ErrorCode};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesOrdered;

use super::edits::CartEdit;
use super::engine::Room;
use super::frame::Frame;
use super::ops::AckTarget;
use super::subscriber::SubscriberHandle;
use super::subscribers::{JoinId, Welcome};
use crate::refusal::Refusal;
use crate::store::CommitError;

/// The queue of a room's pending work.
#[derive(Default)]
pub(super) struct Pending(FuturesOrdered<BoxFuture<'static, Completed>>);

impl Pending {
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Queues work that completes when `work` does (a commit, say).
    pub(super) fn push_after(&mut self, work: impl Future<Output = Completed> + Send + 'static) {
        self.0.push_back(Box::pin(work));
    }

    /// Queues work that needs no commit of its own, only the earlier ones.
    pub(super) fn push_ready(&mut self, done: Completed) {
        self.0.push_back(Box::pin(std::future::ready(done)));
    }

    /// The oldest work, once it is ready; `None` when nothing is queued.
    pub(super) async fn next(&mut self) -> Option<Completed> {
        self.0.next().await
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
            Completed::Subscribe { .. } | Completed::Reply(_) | Completed::Note { .. } => {}
        }
    }
}

fn not_saved() -> Refusal {
    Refusal::new(
        ErrorCode::Unavailable,
        "the cart could not be saved; try again",
    )
}
