//! Binary frames: Automerge bytes behind a 17-byte header.
//!
//! ```text
//! byte 0      kind: 1 = whole document, 2 = changes, 3 = changes with activity
//! bytes 1..17 the cart id (UUID, 16 bytes, big-endian as in its text form)
//! bytes 17..  payload
//! ```
//!
//! The payload of kind 1 is a saved document (`Automerge.load`), of kind 2
//! zero or more changes back to back (`Automerge.loadIncremental`). Kind 3
//! (the `compact` stream) is one or more [`Record`]s back to back, each a
//! change and its activity event, in commit order:
//!
//! ```text
//! u32 BE n | n bytes: one Automerge change | u32 BE m | m bytes: ActivityEvent JSON
//! ```
//!
//! Only the server sends binary frames in v1.

use uuid::Uuid;

use crate::ids::CartId;
use crate::messages::ActivityEvent;

/// Length of the header before the payload.
pub const HEADER_LEN: usize = 17;

/// What the payload of a binary frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameKind {
    /// A whole saved document.
    Document = 1,
    /// One or more changes, concatenated.
    Changes = 2,
    /// One or more changes, each with its activity event ([`Record`]).
    Change = 3,
}

/// A decoded binary frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryFrame<'a> {
    pub kind: FrameKind,
    pub cart_id: CartId,
    pub payload: &'a [u8],
}

/// Why a binary frame could not be decoded.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("binary frame shorter than its {HEADER_LEN}-byte header")]
    TooShort,
    #[error("unknown binary frame kind {0}")]
    UnknownKind(u8),
    #[error("kind-3 record truncated at byte {0} of the payload")]
    TruncatedRecord(usize),
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
            3 => FrameKind::Change,
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

/// One record of a kind-3 payload: a change and its activity event, both
/// as sent (the event still JSON, so that a client that only counts
/// changes need not parse it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// One Automerge change (`Automerge.loadIncremental` takes it).
    pub change: &'a [u8],
    /// The change's [`ActivityEvent`], as JSON.
    pub activity: &'a [u8],
}

impl<'a> Record<'a> {
    /// Appends one record to a kind-3 payload.
    ///
    /// # Panics
    /// When a part is 4 GiB or longer, which no frame may be.
    pub fn encode_into(out: &mut Vec<u8>, change: &[u8], activity: &[u8]) {
        for part in [change, activity] {
            let len = u32::try_from(part.len()).expect("a record part is under 4 GiB");
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(part);
        }
    }

    /// Splits a kind-3 payload into its records; a truncated record (or an
    /// empty payload, which no kind-3 frame has) is an error.
    pub fn decode_all(payload: &'a [u8]) -> Result<Vec<Self>, FrameError> {
        if payload.is_empty() {
            return Err(FrameError::TruncatedRecord(0));
        }
        let mut records = Vec::new();
        let mut pos = 0;
        while pos < payload.len() {
            let change = part(payload, &mut pos)?;
            let activity = part(payload, &mut pos)?;
            records.push(Self { change, activity });
        }
        Ok(records)
    }

    /// The activity event, parsed.
    pub fn activity_event(&self) -> Result<ActivityEvent, serde_json::Error> {
        serde_json::from_slice(self.activity)
    }
}

/// Reads one length-prefixed part at `pos` and moves past it.
fn part<'a>(payload: &'a [u8], pos: &mut usize) -> Result<&'a [u8], FrameError> {
    let start = *pos;
    let truncated = FrameError::TruncatedRecord(start);
    let len_bytes: [u8; 4] = payload
        .get(start..start + 4)
        .and_then(|b| b.try_into().ok())
        .ok_or(truncated.clone())?;
    let len = u32::from_be_bytes(len_bytes) as usize;
    let bytes = payload
        .get(start + 4..)
        .and_then(|rest| rest.get(..len))
        .ok_or(truncated)?;
    *pos = start + 4 + len;
    Ok(bytes)
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

    #[test]
    fn records_decode_in_order() {
        let mut payload = Vec::new();
        Record::encode_into(&mut payload, b"change one", br#"{"seq":1}"#);
        Record::encode_into(&mut payload, b"", b"x");
        let cart = CartId::new_random();
        let bytes = BinaryFrame::encode(FrameKind::Change, cart, &payload);
        let frame = BinaryFrame::decode(&bytes).unwrap();
        assert_eq!(frame.kind, FrameKind::Change);
        let records = Record::decode_all(frame.payload).unwrap();
        assert_eq!(
            records,
            [
                Record {
                    change: b"change one",
                    activity: br#"{"seq":1}"#
                },
                Record {
                    change: b"",
                    activity: b"x"
                },
            ]
        );
    }

    #[test]
    fn truncated_records_are_errors() {
        let mut payload = Vec::new();
        Record::encode_into(&mut payload, b"abc", b"{}");
        // Every proper prefix is truncated: in a length or in a part.
        for cut in 0..payload.len() {
            assert!(
                Record::decode_all(&payload[..cut]).is_err(),
                "a payload cut at {cut} decoded"
            );
        }
        // A length that runs past the end.
        let mut long = payload.clone();
        long[3] = 200;
        assert_eq!(
            Record::decode_all(&long),
            Err(FrameError::TruncatedRecord(0))
        );
        // A second record missing its activity.
        let mut two = payload.clone();
        two.extend_from_slice(&[0, 0, 0, 1, b'c']);
        assert_eq!(
            Record::decode_all(&two),
            Err(FrameError::TruncatedRecord(payload.len() + 5))
        );
    }
}
