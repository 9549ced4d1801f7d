//! What a room sends: frames that know nothing of the transport. The
//! WebSocket edge turns them into text and binary messages.

use bytes::Bytes;
use cartroom_protocol::{BinaryFrame, CartId, FrameKind, OpId, ServerMsg};

use crate::refusal::Refusal;

/// One serialized frame; cheap to clone, so a broadcast serializes once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A JSON message (always valid UTF-8).
    Text(Bytes),
    /// Automerge bytes behind the binary header.
    Binary(Bytes),
}

impl Frame {
    /// A JSON message.
    pub fn msg(msg: &ServerMsg) -> Self {
        Self::Text(Bytes::from(
            serde_json::to_vec(msg).expect("server messages serialize"),
        ))
    }

    /// Automerge bytes for `cart`.
    pub fn automerge(kind: FrameKind, cart: CartId, bytes: &[u8]) -> Self {
        Self::Binary(Bytes::from(BinaryFrame::encode(kind, cart, bytes)))
    }

    /// The `error` message of a refusal.
    pub fn refusal(refusal: &Refusal, cart_id: Option<CartId>, op_id: Option<OpId>) -> Self {
        Self::msg(&ServerMsg::Error {
            code: refusal.code,
            message: refusal.message.clone(),
            cart_id,
            op_id,
        })
    }
}
