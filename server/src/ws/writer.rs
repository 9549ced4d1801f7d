//! The writer task of a connection: sends what queued while a write could
//! not finish at once ([`super::outlet`]), pings, and closes with the
//! documented code when asked.
//!
//! When it takes the queue, the writer merges consecutive change frames of
//! one cart and kind (2 or 3, whose payloads concatenate) into one, up to
//! [`COALESCE_LIMIT`]: changes that queue together cost a receiver one
//! frame. Text frames are never merged, and nothing is reordered.

use axum::extract::ws::{CloseFrame, Message};
use bytes::{Bytes, BytesMut};
use cartroom_protocol::CloseCode;
use cartroom_protocol::frame::HEADER_LEN;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::PING_EVERY;
use super::outlet::{Broken, MessageSink, Outlet, message};
use crate::room::Frame;

/// Largest frame that merging makes; a single larger frame goes as it is.
pub const COALESCE_LIMIT: usize = 256 * 1024;

/// A close to send: the code and its reason.
pub type Close = (CloseCode, &'static str);

/// Why the writer would close the connection on its own, besides a full
/// queue (the outlet's `too_slow`, 4008).
pub struct CloseSignals {
    /// The session was signed out (4001).
    pub session_ended: CancellationToken,
    /// The server is shutting down (1001).
    pub shutdown: CancellationToken,
}

/// Ends the outlet however the writer ends, aborted included: senders
/// then learn that the connection is over.
struct Ending<'a, S: MessageSink>(&'a Outlet<S>);

impl<S: MessageSink> Drop for Ending<'_, S> {
    fn drop(&mut self) {
        self.0.end();
    }
}

pub async fn write_loop<S: MessageSink>(
    outlet: &Outlet<S>,
    mut close_rx: oneshot::Receiver<Close>,
    signals: CloseSignals,
) {
    let _ending = Ending(outlet);
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let close = loop {
        tokio::select! {
            biased;
            _ = signals.shutdown.cancelled() => break Some((CloseCode::GoingAway, "server shutting down")),
            _ = outlet.too_slow.cancelled() => break Some((CloseCode::SlowConsumer, "outbound queue full; resubscribe with your heads")),
            _ = signals.session_ended.cancelled() => break Some((CloseCode::SessionEnded, "signed out")),
            close = &mut close_rx => break close.ok(),
            () = outlet.work() => {
                if drain(outlet, false).await.is_err() {
                    return;
                }
            }
            _ = ping.tick() => {
                outlet.take();
                let pinged = outlet.feed(Message::Ping(Default::default())).await;
                if pinged.is_err() || drain(outlet, false).await.is_err() {
                    return;
                }
            }
        }
    };
    // Senders queue from now on, and what they queue after the close frame
    // is never sent.
    outlet.take();
    let Some((code, reason)) = close else {
        outlet.close(None).await;
        return;
    };
    // What was queued before the close still goes out, unless the queue
    // itself is the problem.
    if code != CloseCode::SlowConsumer && drain(outlet, true).await.is_err() {
        return;
    }
    let frame = CloseFrame {
        code: code.code(),
        reason: reason.into(),
    };
    outlet.close(Some(Message::Close(Some(frame)))).await;
}

/// Sends what is queued, merged, until nothing is and the socket is
/// flushed; then gives the socket back to the senders, unless `keep`.
async fn drain<S: MessageSink>(outlet: &Outlet<S>, keep: bool) -> Result<(), Broken> {
    loop {
        outlet.flush().await?;
        let frames = outlet.take_queued(keep);
        if frames.is_empty() {
            return Ok(());
        }
        let mut merging = Coalescer::default();
        for frame in frames {
            for ready in merging.push(frame).into_iter().flatten() {
                outlet.feed(message(ready)).await?;
            }
        }
        if let Some(last) = merging.finish() {
            outlet.feed(message(last)).await?;
        }
    }
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
