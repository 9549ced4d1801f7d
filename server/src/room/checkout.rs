//! What the room does for checkout besides client ops: ops the server
//! originates (a deadline's lock, an order's status) applied under the
//! server's actor, the hold that keeps a cart still while its order is
//! being placed, and the members' names that checkout ops may refer to.
//!
//! The room stays a sequencer: the deadline timer and the order's
//! database transaction live in services; the room only applies what they
//! send, in turn with everything else.

use std::time::Duration;

use cartroom_protocol::http::CartView;
use cartroom_protocol::{ErrorCode, MemberRole, Op, UserId};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::command::{OpReply, RoomCmd};
use super::engine::Room;
use super::ops::AckTarget;
use crate::cart::{self, OpContext, ServerOp, server_actor, store_actor};
use crate::refusal::Refusal;

/// The longest a hold lasts: an order that is not placed by then (its
/// service died, say) no longer keeps the cart still.
pub(super) const HOLD_MAX: Duration = Duration::from_secs(60);

impl Room {
    /// Keeps the names of members as membership changes reach the room,
    /// for checkout ops that name a member (budgets, payers).
    pub(super) fn learn_member(&mut self, cmd: &RoomCmd) {
        match cmd {
            RoomCmd::MemberChanged {
                user_id,
                member_name,
                role,
                ..
            } => self.learn_name(*user_id, member_name, *role),
            RoomCmd::Note {
                by,
                member: Some((user_id, role)),
                ..
            } if by.user_id == *user_id => self.learn_name(*user_id, &by.name, Some(*role)),
            _ => {}
        }
    }

    fn learn_name(&mut self, user: UserId, name: &str, role: Option<MemberRole>) {
        match role {
            Some(_) => self.names.insert(user, name.to_owned()),
            None => self.names.remove(&user),
        };
    }

    /// Applies an op the server originates, under the server's actor; it
    /// is committed, acked to `reply` and broadcast like any op, and an
    /// order's status ends a hold.
    pub(super) async fn server_op(&mut self, op: ServerOp, reply: OpReply) {
        let catalog = self.catalog.current();
        let actor = match op {
            ServerOp::FollowProduct { .. } => store_actor(&catalog.store.name),
            _ => server_actor(),
        };
        let op_id = op.op_id();
        let target = AckTarget::Direct(reply);
        if matches!(op, ServerOp::SyncOrder { .. }) {
            self.hold = None;
        }
        if self.recent_ops.contains(&(actor.user_id, op_id.clone())) {
            return self.ack_without_change(op_id, target, true);
        }
        let now_ms = self.env.clock.now_ms();
        let ctx = OpContext {
            actor: &actor,
            op_id: &op_id,
            catalog: &catalog,
            now_ms,
            node: self.env.node,
            members: &self.names,
        };
        match cart::apply_server_op(&mut self.doc, &mut self.mirror, &ctx, &op) {
            Ok(applied) => {
                self.commit_applied(&actor, op_id, op.kind(), applied, target, now_ms)
                    .await;
            }
            Err(refusal) => self.refuse_op(target, op_id, refusal),
        }
    }

    /// A member who left or was removed is no longer the cart's approver:
    /// the name is cleared from the document, with an activity event, and
    /// admins approve. (Whatever the document names, the op path counts
    /// the approver only while a member: a server stopped between the
    /// removal and this op leaves the name behind.)
    pub(super) async fn forget_approver(&mut self, user_id: UserId, name: String) {
        if !self.mirror.is_named_approver(user_id) {
            return;
        }
        let at = self.env.clock.now_ms();
        let (reply, _answer) = oneshot::channel();
        self.server_op(ServerOp::ForgetApprover { user_id, name, at }, reply)
            .await;
    }

    /// Holds the cart for an order: answers the view once everything made
    /// so far is durable, and until the order's status arrives, a
    /// [`RoomCmd::Release`] or [`HOLD_MAX`], refuses every op but
    /// suggestions and votes. Refused when the cart is held already.
    pub(super) fn hold(&mut self, reply: oneshot::Sender<Result<CartView, Refusal>>) {
        if self.held() {
            let _ = reply.send(Err(ordering()));
            return;
        }
        let view = match cart::view(&self.doc) {
            Ok(view) => view,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        self.hold = Some(Instant::now());
        self.reply_in_turn(move || {
            let _ = reply.send(Ok(view));
        });
    }

    pub(super) fn release(&mut self) {
        self.hold = None;
    }

    fn held(&self) -> bool {
        self.hold.is_some_and(|since| since.elapsed() < HOLD_MAX)
    }

    /// While an order is being placed, only suggestions and votes go on.
    pub(super) fn check_hold(&self, op: &Op) -> Result<(), Refusal> {
        if !self.held() || matches!(op, Op::Suggest { .. } | Op::Vote { .. }) {
            return Ok(());
        }
        Err(ordering())
    }
}

fn ordering() -> Refusal {
    Refusal::new(
        ErrorCode::CartLocked,
        "an order of this cart is being placed",
    )
}
