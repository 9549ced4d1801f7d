//! The op path: who may (policy), idempotent retries, apply to the document
//! at once, queue the change for commit, and ack or refuse.

use std::time::Instant;

use bytes::Bytes;
use cartroom_protocol::http::OpAck;
use cartroom_protocol::{ActivityEvent, ErrorCode, Op, OpId, ServerMsg};

use super::command::{OpOrigin, OpReply};
use super::edits::CartEdit;
use super::engine::Room;
use super::frame::Frame;
use super::pending::Completed;
use super::subscriber::SubscriberHandle;
use crate::cart::{self, Actor, Applied, OpContext, view::heads_of};
use crate::policy;
use crate::refusal::Refusal;
use crate::store::{CartHooks, CartSummary, ChangeRecord};

/// Where an op's ack or refusal goes.
pub(super) enum AckTarget {
    Subscriber(SubscriberHandle),
    Direct(OpReply),
}

impl Room {
    pub(super) async fn op(&mut self, origin: OpOrigin, op_id: OpId, op: Op) {
        let (actor, role, target) = match origin {
            OpOrigin::Subscriber(conn) => match self.subscribers.get(conn.conn_id()) {
                Some(sub) => (conn.actor().clone(), sub.role, AckTarget::Subscriber(conn)),
                None => {
                    let refusal =
                        Refusal::new(ErrorCode::NotSubscribed, "subscribe to this cart first");
                    conn.deliver(Frame::refusal(&refusal, Some(self.cart_id), Some(op_id)));
                    return;
                }
            },
            OpOrigin::Direct { actor, role, reply } => (actor, role, AckTarget::Direct(reply)),
        };
        if !op_id.is_valid() {
            let refusal = Refusal::new(
                ErrorCode::InvalidField,
                "op_id is 1 to 64 printable ASCII characters",
            );
            return self.refuse_op(target, op_id, refusal);
        }
        let key = (actor.user_id, op_id.clone());
        if self.recent_ops.contains(&key) {
            return self.ack_without_change(op_id, target, true);
        }
        // The named approver counts only while a member: removed, approving
        // falls back to the admins.
        let named_approver =
            self.mirror.is_named_approver(actor.user_id) && self.names.contains_key(&actor.user_id);
        if let Err(refusal) = policy::check_op(role, &op, named_approver) {
            metrics::counter!("cartroom_ops_total", "result" => "forbidden").increment(1);
            return self.refuse_op(target, op_id, refusal);
        }
        if let Err(refusal) = self.check_hold(&op) {
            return self.refuse_op(target, op_id, refusal);
        }
        let now_ms = self.env.clock.now_ms();
        let catalog = self.catalog.current();
        let started = Instant::now();
        let ctx = OpContext {
            actor: &actor,
            op_id: &op_id,
            catalog: &catalog,
            now_ms,
            node: self.env.node,
            members: &self.names,
        };
        let applied = cart::apply_op(&mut self.doc, &mut self.mirror, &ctx, &op);
        metrics::histogram!("cartroom_op_apply_seconds").record(started.elapsed().as_secs_f64());
        let applied = match applied {
            Ok(applied) => applied,
            Err(refusal) => {
                metrics::counter!("cartroom_ops_total", "result" => refusal.code.as_str())
                    .increment(1);
                return self.refuse_op(target, op_id, refusal);
            }
        };
        metrics::counter!("cartroom_ops_total", "result" => "accepted").increment(1);
        self.commit_applied(&actor, op_id, op.kind(), applied, target, now_ms)
            .await;
    }

    /// Queues an applied op's change for commit; its ack, change and
    /// activity go out once it is durable. An op that changed nothing is
    /// acked after the commits before it.
    pub(super) async fn commit_applied(
        &mut self,
        actor: &Actor,
        op_id: OpId,
        kind: &str,
        applied: Applied,
        target: AckTarget,
        now_ms: i64,
    ) {
        // An op that changed nothing is remembered too, so that its retry
        // changes nothing either; with no change to store it with, only
        // while the room stays loaded.
        self.recent_ops.remember((actor.user_id, op_id.clone()));
        let Some(change) = applied.change else {
            return self.ack_without_change(op_id, target, false);
        };
        self.saved = None;
        self.seq += 1;
        let activity = ActivityEvent {
            seq: self.activity.next_seq(),
            at: now_ms,
            user_id: actor.user_id,
            user_name: actor.name.clone(),
            kind: kind.to_owned(),
            text: cart::activity_text(&actor.name, &applied.summary, &applied.totals),
            subtotal: applied.totals.subtotal,
            currency: applied.totals.currency.clone(),
        };
        // Webhook events of this change, written by the same commit.
        let hooks = CartHooks {
            store_id: self.store_id.clone(),
            lines: (applied.line_changes.iter())
                .map(|c| (c.sku.clone(), c.name.clone(), c.delta))
                .collect(),
            locked: applied.locked,
            over_budget: (applied.over_budget.into_iter())
                .map(|o| (o.user_id, o.name, o.budget, o.share))
                .collect(),
        };
        // Sent once durable, as each subscriber's stream wants it.
        let change_bytes = Bytes::copy_from_slice(&change);
        let view_patch = self.view_patch();
        let edit = (!applied.line_changes.is_empty()).then(|| {
            Box::new(CartEdit {
                cart_id: self.cart_id,
                store_id: self.store_id.clone(),
                user_id: actor.user_id,
                live: matches!(target, AckTarget::Subscriber(_)),
                at: now_ms,
                line_changes: applied.line_changes,
                subtotal: applied.totals.subtotal,
                currency: applied.totals.currency.clone(),
            })
        });
        let seq = self.seq;
        let ack = OpAck {
            op_id: op_id.clone(),
            heads: heads_of(&self.doc),
            duplicate: false,
            created: applied.created,
        };
        let summary = CartSummary {
            name: applied.totals.name,
            lock_deadline: applied.totals.lock_deadline,
        };
        let summary = (self.summary.as_ref() != Some(&summary)).then(|| {
            self.summary = Some(summary.clone());
            summary
        });
        let commit = self
            .env
            .changes
            .append(ChangeRecord {
                cart_id: self.cart_id,
                seq,
                epoch: self.epoch,
                term: self.term(),
                bytes: change,
                user_id: actor.user_id,
                op_id,
                activity: activity.clone(),
                line_count: applied.totals.line_count,
                summary,
                hooks,
            })
            .await;
        self.pending.push_after(async move {
            Completed::Commit {
                result: commit.await,
                seq,
                change: change_bytes,
                view_patch,
                ack,
                target,
                activity,
                edit,
            }
        });
    }

    /// Acks after the commits queued so far, since the answer reports their heads.
    pub(super) fn ack_without_change(&mut self, op_id: OpId, target: AckTarget, duplicate: bool) {
        let ack = OpAck {
            op_id,
            heads: heads_of(&self.doc),
            duplicate,
            created: None,
        };
        self.pending.push_ready(Completed::Ack { ack, target });
    }

    pub(super) fn refuse_op(&self, target: AckTarget, op_id: OpId, refusal: Refusal) {
        match target {
            AckTarget::Subscriber(conn) => {
                conn.deliver(Frame::refusal(&refusal, Some(self.cart_id), Some(op_id)));
            }
            AckTarget::Direct(reply) => {
                let _ = reply.send(Err(refusal));
            }
        }
    }

    pub(super) fn ack(&self, target: AckTarget, ack: OpAck) {
        match target {
            AckTarget::Subscriber(conn) => {
                conn.deliver(Frame::msg(&ServerMsg::Ack {
                    cart_id: self.cart_id,
                    op_id: ack.op_id,
                    heads: ack.heads,
                    duplicate: ack.duplicate,
                    created: ack.created,
                }));
            }
            AckTarget::Direct(reply) => {
                let _ = reply.send(Ok(ack));
            }
        }
    }
}
