//! What a room can be asked to do.

use automerge::ChangeHash;
use bytes::Bytes;
use cartroom_protocol::http::{CartView, OpAck};
use cartroom_protocol::{ConnId, MemberRole, Op, OpId, StreamKind, UserId};
use tokio::sync::oneshot;

use super::subscriber::SubscriberHandle;
use crate::cart::{Actor, ServerOp};
use crate::refusal::Refusal;

/// The answer to an op that did not come from a subscriber.
pub type OpReply = oneshot::Sender<Result<OpAck, Refusal>>;

/// Where the answer to an op goes.
#[derive(Debug)]
pub enum OpOrigin {
    /// A subscriber; its role is the room's record of it.
    Subscriber(SubscriberHandle),
    /// A request from outside the room (HTTP), with the role the caller's
    /// membership gives.
    Direct {
        actor: Actor,
        role: MemberRole,
        reply: OpReply,
    },
}

/// Which Automerge bytes a read wants.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub enum BytesKind {
    /// `doc.save()`.
    Document,
    /// Every change, concatenated.
    Changes,
}

/// A command for one room.
#[derive(Debug)]
pub enum RoomCmd {
    Subscribe {
        conn: SubscriberHandle,
        role: MemberRole,
        /// A store's staff, watching (as `viewer`) or taking the cart over
        /// (as `editor`): never chats, and changes nothing while watching.
        staff: bool,
        /// The heads the subscriber's replica has, if it keeps one.
        heads: Option<Vec<ChangeHash>>,
        /// What it is sent after each change.
        stream: StreamKind,
    },
    Unsubscribe {
        conn_id: ConnId,
        /// Send `unsubscribed` (reason `requested`) to the connection.
        notify: bool,
    },
    Op {
        origin: OpOrigin,
        op_id: OpId,
        /// Boxed: the largest op would make every command, and every slot
        /// of each room's queue, its size.
        op: Box<Op>,
    },
    Presence {
        conn_id: ConnId,
        status: Option<String>,
    },
    Chat {
        conn: SubscriberHandle,
        text: String,
    },
    /// A membership changed in the database; `role: None` means removed.
    MemberChanged {
        user_id: UserId,
        member_name: String,
        role: Option<MemberRole>,
        /// True when the user was not a member before.
        added: bool,
        /// The admin who made the change (or the member who left).
        by: Actor,
    },
    /// An activity event that is neither a change nor a chat nor a member
    /// change made by an admin (sharing: "Ana invited grandma@example.com
    /// as an editor", "Grandma joined via Ana's invitation"); saved, then
    /// broadcast. `member`: the event also tells the room that this user is
    /// now a member with this role, as `MemberChanged` does, so that live
    /// subscriptions follow.
    Note {
        by: Actor,
        kind: String,
        text: String,
        member: Option<(UserId, MemberRole)>,
    },
    /// An op the server originates (a deadline's lock, an order's status),
    /// applied under the server's actor and answered like an HTTP op.
    ServerOp { op: ServerOp, reply: OpReply },
    /// Keep the cart still while its order is being placed: the view once
    /// durable, then only suggestions and votes until `Release`, the
    /// order's `SyncOrder` or a minute.
    Hold {
        reply: oneshot::Sender<Result<CartView, Refusal>>,
    },
    /// The order was not placed: the hold ends.
    Release,
    /// The JSON view, once everything made so far is durable.
    View { reply: oneshot::Sender<CartView> },
    /// Automerge bytes, once everything made so far is durable.
    Bytes {
        kind: BytesKind,
        reply: oneshot::Sender<Bytes>,
    },
    /// The cart is being deleted: finish commits, tell everyone, stop.
    Delete { reply: oneshot::Sender<()> },
    /// Answered once the room took every command sent before it (through
    /// a relay: once the owner's room did), so that a change told to the
    /// room holds for whatever anyone sends after the answer.
    Barrier { reply: oneshot::Sender<()> },
}
