//! A request refused with a stable code: what the cart model, the room and
//! the services answer, and what the HTTP and WebSocket edges send.

use cartroom_protocol::ErrorCode;

/// A refusal; nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{code}: {message}")]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// No such cart, or the caller is not a member: the same answer, so
    /// that carts cannot be probed.
    pub fn cart_not_found() -> Self {
        Self::new(
            ErrorCode::CartNotFound,
            "no such cart, or you are not a member",
        )
    }

    /// Storage failing or the server stopping; nothing was applied.
    pub fn unavailable() -> Self {
        Self::new(
            ErrorCode::Unavailable,
            "the cart is unavailable right now; try again",
        )
    }
}
