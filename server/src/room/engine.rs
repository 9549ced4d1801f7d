//! A loaded room: the document, its mirror, its subscribers and the work
//! waiting for commits, and how each command is dispatched.

use std::collections::HashMap;
use std::sync::Arc;

use automerge::Automerge;
use bytes::Bytes;
use cartroom_protocol::{CartId, MemberRole, UserId};

use super::activity::ActivityLog;
use super::command::RoomCmd;
use super::env::RoomEnv;
use super::pending::{Completed, Pending};
use super::recent_ops::RecentOps;
use super::subscribers::Subscribers;
use crate::cart::CartMirror;
use crate::catalog::CatalogHandle;
use crate::cluster::Lease;
use crate::store::{CartState, CartSummary};

/// The state of one loaded cart. Only its task touches it.
pub(super) struct Room {
    pub(super) env: Arc<RoomEnv>,
    pub(super) cart_id: CartId,
    /// The cart's store (for what the room tells beyond its subscribers).
    pub(super) store_id: String,
    /// The store's catalog, which ops are validated against.
    pub(super) catalog: CatalogHandle,
    pub(super) doc: Automerge,
    /// What ops are validated against; see `cart::mirror`.
    pub(super) mirror: CartMirror,
    pub(super) subscribers: Subscribers,
    /// Sequence number of the last change made (maybe not yet committed).
    pub(super) seq: i64,
    /// The document's epoch (`cart::epoch`): how many times it restarted.
    pub(super) epoch: i64,
    /// This node's lease on the cart (many nodes; `None` on one node).
    pub(super) lease: Option<Lease>,
    pub(super) recent_ops: RecentOps,
    pub(super) activity: ActivityLog,
    /// `doc.save()` until the next change, for subscribers without heads.
    pub(super) saved: Option<Bytes>,
    pub(super) pending: Pending,
    /// A commit failed: the document holds a change that is not durable,
    /// and the room is on its way out.
    pub(super) failed: bool,
    /// Membership changes seen since the room loaded (`None`: removed).
    /// They win over a role read from the store before the change, which a
    /// `subscribe` may carry.
    pub(super) member_roles: HashMap<UserId, Option<MemberRole>>,
    /// Members' names by user id, loaded with the cart and kept by
    /// membership changes: whom checkout ops may name (`room::checkout`).
    pub(super) names: HashMap<UserId, String>,
    /// Since when an order of this cart is being placed (`room::checkout`).
    pub(super) hold: Option<tokio::time::Instant>,
    /// The cart's name and deadline as last sent with a change (`None`
    /// until the first change after loading): a change carries them only
    /// when they differ, so that an edit does not rewrite the cart's row.
    pub(super) summary: Option<CartSummary>,
}

impl Room {
    pub(super) fn new(
        env: Arc<RoomEnv>,
        cart_id: CartId,
        catalog: CatalogHandle,
        doc: Automerge,
        mirror: CartMirror,
        state: CartState,
        lease: Option<Lease>,
    ) -> Self {
        let limits = env.limits;
        Self {
            cart_id,
            store_id: state.store_id,
            catalog,
            doc,
            mirror,
            subscribers: Subscribers::default(),
            seq: state.last_seq,
            epoch: state.epoch,
            lease,
            recent_ops: RecentOps::new(limits.op_memory, state.applied_ops),
            activity: ActivityLog::new(limits.activity_memory, state.activity),
            saved: None,
            pending: Pending::default(),
            failed: false,
            member_roles: HashMap::new(),
            names: state.members.into_iter().collect(),
            hold: None,
            summary: None,
            env,
        }
    }

    /// The lease's term, which every change, base and activity event
    /// carries so that it commits only while the lease holds; 0 on one node.
    pub(super) fn term(&self) -> i64 {
        self.lease.as_ref().map_or(0, |l| l.term)
    }

    /// Nobody subscribed and nothing in flight: the room may unload.
    pub(super) fn is_idle(&self) -> bool {
        self.subscribers.is_empty() && self.pending.is_empty()
    }

    pub(super) async fn handle(&mut self, cmd: RoomCmd) {
        self.learn_member(&cmd);
        match cmd {
            RoomCmd::Subscribe {
                conn,
                role,
                staff,
                heads,
                stream,
            } => self.subscribe(conn, role, staff, heads, stream),
            // Asked for: in turn, so that the connection first gets what
            // its earlier messages asked for. Its connection gone: at once.
            RoomCmd::Unsubscribe {
                conn_id,
                notify: true,
            } => {
                if let Some(sub) = self.subscribers.get(conn_id) {
                    let join = sub.join;
                    self.pending
                        .push_ready(Completed::Unsubscribe { conn_id, join });
                }
            }
            RoomCmd::Unsubscribe {
                conn_id,
                notify: false,
            } => self.unsubscribe(conn_id, false),
            RoomCmd::Op { origin, op_id, op } => self.op(origin, op_id, *op).await,
            RoomCmd::Presence { conn_id, status } => self.set_status(conn_id, status),
            RoomCmd::Chat { conn, text } => self.chat(conn, text).await,
            RoomCmd::Barrier { reply } => {
                let _ = reply.send(());
            }
            RoomCmd::MemberChanged {
                user_id,
                member_name,
                role,
                added,
                by,
            } => {
                self.member_roles.insert(user_id, role);
                self.member_changed(user_id, role);
                self.note_membership(&by, user_id, &member_name, role, added)
                    .await;
                if role.is_none() {
                    self.forget_approver(user_id, member_name).await;
                }
            }
            RoomCmd::Note {
                by,
                kind,
                text,
                member,
            } => {
                if let Some((user_id, role)) = member {
                    self.member_roles.insert(user_id, Some(role));
                    self.member_changed(user_id, Some(role));
                }
                self.record_note(&by, &kind, text, None).await;
            }
            RoomCmd::ServerOp { op, reply } => self.server_op(op, reply).await,
            RoomCmd::Hold { reply } => self.hold(reply),
            RoomCmd::Release => self.release(),
            RoomCmd::View { reply } => self.view(reply),
            RoomCmd::Bytes { kind, reply } => self.bytes(kind, reply),
            RoomCmd::Delete { .. } => unreachable!("the room loop handles deletion"),
        }
    }

    /// Completes everything in flight, in order.
    pub(super) async fn finish_pending(&mut self) {
        while let Some(done) = self.pending.next().await {
            self.complete(done);
        }
    }

    /// The cart is being deleted: finish commits, then tell everyone.
    pub(super) async fn delete(&mut self) {
        self.finish_pending().await;
        self.unsubscribe_all("deleted");
    }
}
