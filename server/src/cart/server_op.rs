//! Ops the server originates: a deadline that locks a cart (and the
//! reminder before it), an order that was placed or changed status, the
//! named approver who is no longer a member. A type of their own, so that no client can
//! send one (clients send [`Op`](cartroom_protocol::Op)s); the room applies
//! them under the server's actor, and each is an activity event like any
//! change.

use cartroom_protocol::checkout::OrderStatus;
use cartroom_protocol::{OpId, UserId};
use uuid::Uuid;

use super::actor::Actor;

/// The actor of server-originated changes: a user id no account has (the
/// nil UUID), named "Cartroom" in the activity feed.
pub fn server_actor() -> Actor {
    Actor {
        user_id: UserId(Uuid::nil()),
        name: "Cartroom".into(),
    }
}

/// The actor of a catalog change: the store, nameless in the document
/// like the server ("Corner Shop: Blue Mug is out of stock").
pub fn store_actor(store_name: &str) -> Actor {
    Actor {
        name: store_name.to_owned(),
        ..server_actor()
    }
}

/// An op the server applies to a cart on its own (sent to the cart's
/// owner between nodes, hence serde).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ServerOp {
    /// The deadline set for the cart (Unix ms) has come: lock it. Nothing
    /// happens when the deadline was moved or cleared meanwhile.
    LockAtDeadline { deadline: i64 },
    /// The deadline (Unix ms) is near: tell the members, once. Nothing
    /// happens when it was moved, cleared or already reminded of, or when
    /// the cart is no longer open.
    RemindOfDeadline { deadline: i64 },
    /// An order of the cart was placed or changed status; the cart follows
    /// (placed: `ordered`; cancelled: `open` again).
    SyncOrder {
        order_id: String,
        status: OrderStatus,
        total: i64,
        /// Who placed or changed it, for the activity sentence.
        by_name: String,
    },
    /// The cart's named approver left or was removed (at `at`, Unix ms):
    /// clear the name, admins approve. Nothing happens when someone else
    /// is named by then.
    ForgetApprover {
        user_id: UserId,
        name: String,
        at: i64,
    },
    /// The store's catalog changed: the line of `sku` takes the product's
    /// price, name and tier now, and says when it runs low or out
    /// (`cart::ops::catalog`). `token` makes each its own op: the same
    /// line may follow many catalog versions.
    FollowProduct { sku: String, token: Uuid },
}

impl ServerOp {
    /// The activity kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::LockAtDeadline { .. } => "deadline_lock",
            Self::RemindOfDeadline { .. } => "deadline_reminder",
            Self::SyncOrder { status, .. } => match status {
                OrderStatus::Pending => "order_placed",
                OrderStatus::Confirmed => "order_confirmed",
                OrderStatus::Fulfilled => "order_fulfilled",
                OrderStatus::Cancelled => "order_cancelled",
            },
            Self::ForgetApprover { .. } => "approver_left",
            Self::FollowProduct { .. } => "catalog_change",
        }
    }

    /// A stable op id, so that applying the same op twice (a timer that
    /// fires again after a restart) is answered as a retry.
    pub fn op_id(&self) -> OpId {
        OpId(match self {
            Self::LockAtDeadline { deadline } => format!("deadline-{deadline}"),
            Self::RemindOfDeadline { deadline } => format!("reminder-{deadline}"),
            Self::SyncOrder {
                order_id, status, ..
            } => format!("order-{order_id}-{}", status.as_str()),
            Self::ForgetApprover { user_id, at, .. } => {
                format!("approver-left-{}-{at}", user_id.0.simple())
            }
            Self::FollowProduct { token, .. } => format!("catalog-{}", token.simple()),
        })
    }
}

/// The first 8 characters of an order id, as people read it ("3F2A91C0").
pub fn short_id(order_id: &str) -> String {
    order_id.chars().take(8).collect::<String>().to_uppercase()
}
