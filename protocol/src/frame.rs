//! Binary frames: Automerge bytes behind a 17-byte header.
//!
//! ```text
//! byte 0      kind: 1 = whole document, 2 = changes
//! bytes 1..17 the cart id (UUID, 16 bytes, big-endian as in its text form)
//! bytes 17..  Automerge bytes (`Automerge.load` for kind 1,
//!             `Automerge.loadIncremental` for kind 2; may be empty for 2)
//! ```
//!
//! Only the server sends binary frames in v1.

use uuid::Uuid;

use crate::ids::CartId;

/// Length of the header before the Automerge bytes.
pub const HEADER_LEN: usize = 17;

/// What the Automerge bytes of a binary frame are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameKind {
    /// A whole saved document.
    Document = 1,
    /// One or more changes, concatenated.
    Changes = 2,
}

/// A decoded binary frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryFrame<'a> {
    pub kind: FrameKind,
    pub cart_id: CartId,
    pub payload: &'a [u8],
}

/// Why a binary frame could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("binary frame shorter than its {HEADER_LEN}-byte header")]
    TooShort,
    #[error("unknown binary frame kind {0}")]
    UnknownKind(u8),
}

impl<'a> BinaryFrame<'a> {
    /// Encodes header and payload into one buffer.
    pub fn encode(kind: FrameKind, cart_id: CartId, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.push(kind as u8);
        out.extend_from_slice(cart_id.0.as_bytes());
        out.extend_from_slice(payload);
        out
    }

    /// Decodes a frame without copying its payload.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, FrameError> {
        if bytes.len() < HEADER_LEN {
            return Err(FrameError::TooShort);
        }
        let kind = match bytes[0] {
            1 => FrameKind::Document,
            2 => FrameKind::Changes,
            other => return Err(FrameError::UnknownKind(other)),
        };
        let mut id = [0u8; 16];
        id.copy_from_slice(&bytes[1..HEADER_LEN]);
        Ok(Self {
            kind,
            cart_id: CartId(Uuid::from_bytes(id)),
            payload: &bytes[HEADER_LEN..],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_decode_is_identity() {
        let cart = CartId::new_random();
        let bytes = BinaryFrame::encode(FrameKind::Changes, cart, b"abc");
        let frame = BinaryFrame::decode(&bytes).unwrap();
        assert_eq!(frame.kind, FrameKind::Changes);
        assert_eq!(frame.cart_id, cart);
        assert_eq!(frame.payload, b"abc");
    }

    #[test]
    fn short_and_unknown_frames_are_errors() {
        assert_eq!(BinaryFrame::decode(&[1, 2]), Err(FrameError::TooShort));
        let mut bytes = BinaryFrame::encode(FrameKind::Document, CartId::new_random(), b"");
        bytes[0] = 9;
        assert_eq!(BinaryFrame::decode(&bytes), Err(FrameError::UnknownKind(9)));
    }
}
