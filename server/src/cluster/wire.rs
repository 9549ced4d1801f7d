//! What nodes send each other about a cart: commands for its owner and the
//! owner's answers (JSON, request/reply), and frames for the nodes that
//! relay the cart to their sockets (raw bytes, two headers).

use bytes::Bytes;
use cartroom_protocol::http::{CartView, OpAck};
use cartroom_protocol::{CartId, MemberRole, Op, OpId, StreamKind, UserId};
use serde::{Deserialize, Serialize};

use crate::cart::{Actor, ServerOp};
use crate::refusal::Refusal;
use crate::room::BytesKind;

/// The subject of the commands for `cart` on its owner `node`.
pub fn owner_subject(node: &str, cart: CartId) -> String {
    format!("cartroom.owner.{node}.{cart}")
}

/// The subject of `cart`'s frames for the sockets on `node`.
pub fn relay_subject(node: &str, cart: CartId) -> String {
    format!("cartroom.relay.{node}.{cart}")
}

/// Every node's heartbeat (its name).
pub const ALIVE_SUBJECT: &str = "cartroom.nodes.alive";

/// What a node's live connections tell the others' (`LiveEvent`).
pub const LIVE_SUBJECT: &str = "cartroom.live";

/// The id of a store whose catalog a node changed.
pub const CATALOG_SUBJECT: &str = "cartroom.catalogs";

/// Header naming the node a command or a message for every node comes from.
pub const NODE_HEADER: &str = "Cartroom-Node";

/// Header naming the relaying node's connection a frame is for.
pub const CONN_HEADER: &str = "Cartroom-Conn";

/// Header saying what a relayed frame is.
pub const FRAME_HEADER: &str = "Cartroom-Frame";

/// What a relayed message carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relayed {
    /// A JSON message.
    Text,
    /// Automerge bytes behind the binary header.
    Binary,
    /// No frame: the room ended the connection's subscription.
    Unsubscribed,
}

impl Relayed {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Binary => "binary",
            Self::Unsubscribed => "unsubscribed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "text" => Some(Self::Text),
            "binary" => Some(Self::Binary),
            "unsubscribed" => Some(Self::Unsubscribed),
            _ => None,
        }
    }
}

/// A room command forwarded to the cart's owner. Connections are named by
/// their id on the relaying node (the sender of the request).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Forward {
    Subscribe {
        conn: u64,
        actor: Actor,
        role: MemberRole,
        staff: bool,
        /// Hex change hashes.
        heads: Option<Vec<String>>,
        stream: StreamKind,
    },
    Unsubscribe {
        conn: u64,
        notify: bool,
    },
    /// A relayed subscriber's op: answered on its frames, like any.
    SubscriberOp {
        conn: u64,
        op_id: OpId,
        op: Op,
    },
    /// An op from outside the room (HTTP, staff): answered `Reply::Op`.
    DirectOp {
        actor: Actor,
        role: MemberRole,
        op_id: OpId,
        op: Op,
    },
    Presence {
        conn: u64,
        status: Option<String>,
    },
    Chat {
        conn: u64,
        text: String,
    },
    MemberChanged {
        user_id: UserId,
        member_name: String,
        role: Option<MemberRole>,
        added: bool,
        by: Actor,
    },
    Note {
        by: Actor,
        kind: String,
        text: String,
        member: Option<(UserId, MemberRole)>,
    },
    ServerOp {
        op: ServerOp,
    },
    Hold,
    Release,
    View,
    Bytes {
        kind: BytesKind,
    },
    Delete,
    Barrier,
}

/// The owner's answer to a [`Forward`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// The room took the command; what follows comes as frames.
    Taken,
    Op {
        result: Result<OpAck, Refusal>,
    },
    View {
        view: CartView,
    },
    Hold {
        result: Result<CartView, Refusal>,
    },
    /// Base64 of the bytes.
    Bytes {
        bytes: String,
    },
    /// The cart is deleted.
    Deleted,
    /// The room took every command before the barrier.
    Passed,
    /// The room is not on this node (any more): ask who holds the cart now.
    Moved,
    /// The command could not be read (a node of another version).
    Unreadable {
        error: String,
    },
}

impl Reply {
    pub fn encode(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(self).expect("replies serialize"))
    }
}

impl Forward {
    pub fn encode(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(self).expect("commands serialize"))
    }
}
