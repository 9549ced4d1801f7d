//! The writing half of a connection: drains the outbound queue that rooms
//! fill, pings, and closes with the documented code when asked.
//!
//! When it wakes, the writer takes everything queued and merges consecutive
//! change frames of one cart and kind (2 or 3, whose payloads concatenate)
//! into one, up to [`COALESCE_LIMIT`]: changes that leave in the same tick
//! cost a receiver one frame. Text frames are never merged, and nothing is
//! reordered.

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use bytes::{Bytes, BytesMut};
use cartroom_protocol::CloseCode;
use cartroom_protocol::frame::HEADER_LEN;
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::PING_EVERY;
use crate::room::Frame;

/// Largest frame that merging makes; a single larger frame goes as it is.
pub const COALESCE_LIMIT: usize = 256 * 1024;

/// A close to send: the code and its reason.
pub type Close = (CloseCode, &'static str);

/// Why the writer would close the connection on its own.
pub struct CloseSignals {
    /// The outbound queue filled (4008).
    pub too_slow: CancellationToken,
    /// The session was signed out (4001).
    pub session_ended: CancellationToken,
    /// The server is shutting down (1001).
    pub shutdown: CancellationToken,
}

/// The WebSocket message of a room's frame.
fn message(frame: Frame) -> Message {
    match frame {
        Frame::Text(bytes) => {
            Message::Text(Utf8Bytes::try_from(bytes).expect("rooms send UTF-8 JSON"))
        }
        Frame::Binary(bytes) => Message::Binary(bytes),
    }
}

pub async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut outbound: mpsc::Receiver<Frame>,
    mut close_rx: oneshot::Receiver<Close>,
    signals: CloseSignals,
) {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let close = loop {
        tokio::select! {
            biased;
            _ = signals.shutdown.cancelled() => break Some((CloseCode::GoingAway, "server shutting down")),
            _ = signals.too_slow.cancelled() => break Some((CloseCode::SlowConsumer, "outbound queue full; resubscribe with your heads")),
            _ = signals.session_ended.cancelled() => break Some((CloseCode::SessionEnded, "signed out")),
            close = &mut close_rx => break close.ok(),
            frame = outbound.recv() => {
                let Some(frame) = frame else { break None };
                // Whatever else is queued goes out with it, in one flush.
                let mut merging = Coalescer::default();
                let mut next = Some(frame);
                while let Some(frame) = next.take().or_else(|| outbound.try_recv().ok()) {
                    for ready in merging.push(frame).into_iter().flatten() {
                        if sink.feed(message(ready)).await.is_err() {
                            return;
                        }
                    }
                }
                if let Some(last) = merging.finish()
                    && sink.feed(message(last)).await.is_err()
                {
                    return;
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
            _ = ping.tick() => {
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
    };
    if let Some((code, reason)) = close {
        // What was queued before the close still goes out, unless the queue
        // itself is the problem.
        if code != CloseCode::SlowConsumer {
            while let Ok(frame) = outbound.try_recv() {
                if sink.send(message(frame)).await.is_err() {
                    return;
                }
            }
        }
        let frame = CloseFrame {
            code: code.code(),
            reason: reason.into(),
        };
        let _ = sink.send(Message::Close(Some(frame))).await;
    }
    let _ = sink.close().await;
}

/// Merges consecutive change frames of one cart and kind.
#[derive(Default)]
struct Coalescer {
    /// The change frame being added to, not sent yet.
    held: Option<Held>,
}

enum Held {
    /// One frame as the room made it (most often nothing follows it).
    One(Bytes),
    /// Several, merged into one buffer.
    Merged(BytesMut),
}

impl Held {
    fn bytes(&self) -> &[u8] {
        match self {
            Self::One(bytes) => bytes,
            Self::Merged(bytes) => bytes,
        }
    }

    fn into_frame(self) -> Frame {
        match self {
            Self::One(bytes) => Frame::Binary(bytes),
            Self::Merged(bytes) => Frame::Binary(bytes.freeze()),
        }
    }

    /// Appends the payload of `frame` when it is of the same cart and kind
    /// and the result stays within the limit; false otherwise.
    fn absorb(&mut self, frame: &[u8]) -> bool {
        let held = self.bytes();
        let fits = held.len() + frame.len() - HEADER_LEN <= COALESCE_LIMIT;
        if !fits || held[..HEADER_LEN] != frame[..HEADER_LEN] {
            return false;
        }
        if let Self::One(bytes) = self {
            let mut merged = BytesMut::with_capacity(bytes.len() + frame.len());
            merged.extend_from_slice(bytes);
            *self = Self::Merged(merged);
        }
        if let Self::Merged(merged) = self {
            merged.extend_from_slice(&frame[HEADER_LEN..]);
        }
        true
    }
}

/// Whether a binary frame is one whose payload concatenates: changes
/// (kind 2) or changes with activity (kind 3).
fn mergeable(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER_LEN && matches!(bytes[0], 2 | 3)
}

impl Coalescer {
    /// Takes the next queued frame; returns what is to be sent now, in order.
    fn push(&mut self, frame: Frame) -> [Option<Frame>; 2] {
        match frame {
            Frame::Binary(bytes) if mergeable(&bytes) => {
                if let Some(held) = &mut self.held
                    && held.absorb(&bytes)
                {
                    return [None, None];
                }
                let before = self.held.replace(Held::One(bytes));
                [before.map(Held::into_frame), None]
            }
            other => [self.finish(), Some(other)],
        }
    }

    /// What is still held, once the queue is empty.
    fn finish(&mut self) -> Option<Frame> {
        self.held.take().map(Held::into_frame)
    }
}

#[cfg(test)]
mod tests {
    use cartroom_protocol::frame::Record;
    use cartroom_protocol::{BinaryFrame, CartId, FrameKind};

    use super::*;

    fn change(kind: FrameKind, cart: CartId, payload: &[u8]) -> Frame {
        Frame::Binary(Bytes::from(BinaryFrame::encode(kind, cart, payload)))
    }

    fn text(s: &str) -> Frame {
        Frame::Text(Bytes::from(s.to_owned()))
    }

    /// Pushes every frame, then finishes: what the writer would send.
    fn coalesce(frames: Vec<Frame>) -> Vec<Frame> {
        let mut merging = Coalescer::default();
        let mut out: Vec<Frame> = frames
            .into_iter()
            .flat_map(|f| merging.push(f))
            .flatten()
            .collect();
        out.extend(merging.finish());
        out
    }

    #[test]
    fn consecutive_changes_of_a_cart_merge_in_order() {
        let cart = CartId::new_random();
        let mut records = Vec::new();
        let frames = (0..3u8)
            .map(|i| {
                let mut payload = Vec::new();
                Record::encode_into(&mut payload, &[i; 5], format!("{{\"n\":{i}}}").as_bytes());
                records.extend_from_slice(&payload);
                change(FrameKind::Change, cart, &payload)
            })
            .collect();
        let out = coalesce(frames);
        assert_eq!(out, [change(FrameKind::Change, cart, &records)]);
        let Frame::Binary(bytes) = &out[0] else {
            unreachable!()
        };
        let frame = BinaryFrame::decode(bytes).unwrap();
        let decoded = Record::decode_all(frame.payload).unwrap();
        let changes: Vec<&[u8]> = decoded.iter().map(|r| r.change).collect();
        assert_eq!(changes, [&[0u8; 5][..], &[1; 5], &[2; 5]]);
    }

    #[test]
    fn text_documents_other_carts_and_kinds_are_never_merged_or_reordered() {
        let (a, b) = (CartId::new_random(), CartId::new_random());
        let frames = vec![
            change(FrameKind::Changes, a, b"1"),
            change(FrameKind::Changes, a, b"2"),
            text("ack"),
            change(FrameKind::Changes, a, b"3"),
            change(FrameKind::Changes, b, b"4"),
            change(FrameKind::Change, b, b"5"),
            change(FrameKind::Document, b, b"6"),
            change(FrameKind::Change, b, b"7"),
        ];
        let out = coalesce(frames);
        assert_eq!(
            out,
            [
                change(FrameKind::Changes, a, b"12"),
                text("ack"),
                change(FrameKind::Changes, a, b"3"),
                change(FrameKind::Changes, b, b"4"),
                change(FrameKind::Change, b, b"5"),
                change(FrameKind::Document, b, b"6"),
                change(FrameKind::Change, b, b"7"),
            ]
        );
    }

    #[test]
    fn merging_stops_at_the_limit() {
        let cart = CartId::new_random();
        let big = vec![7u8; COALESCE_LIMIT / 2];
        let out = coalesce(vec![
            change(FrameKind::Changes, cart, &big),
            change(FrameKind::Changes, cart, &big),
            change(FrameKind::Changes, cart, b"x"),
        ]);
        assert_eq!(out.len(), 2);
        let sizes: Vec<usize> = out
            .iter()
            .map(|f| match f {
                Frame::Binary(b) => b.len(),
                Frame::Text(_) => unreachable!(),
            })
            .collect();
        assert_eq!(sizes, [HEADER_LEN + big.len(), HEADER_LEN + big.len() + 1]);
        assert!(sizes.iter().all(|&s| s <= COALESCE_LIMIT));
    }
}
