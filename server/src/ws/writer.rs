//! The writing half of a connection: drains the outbound queue that rooms
//! fill, pings, and closes with the documented code when asked.

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use cartroom_protocol::CloseCode;
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::PING_EVERY;
use crate::room::Frame;

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
    mut close_rx: mpsc::Receiver<Close>,
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
            close = close_rx.recv() => break close,
            frame = outbound.recv() => {
                let Some(frame) = frame else { break None };
                // Whatever else is queued goes out with it, in one flush.
                let mut batch = Some(frame);
                while let Some(frame) = batch.take().or_else(|| outbound.try_recv().ok()) {
                    if sink.feed(message(frame)).await.is_err() {
                        return;
                    }
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
