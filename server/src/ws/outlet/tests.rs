//! The outlet and its writer task against a sink whose readiness each test
//! decides: frames keep their order across a socket that blocks, the
//! writer task is the one woken when it frees, a full queue marks the
//! connection too slow, and senders learn when the writer has ended.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::extract::ws::Message;
use bytes::Bytes;
use cartroom_protocol::CloseCode;
use futures_util::Sink;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{NotSent, OUTBOUND_QUEUE, Outlet};
use crate::room::Frame;
use crate::ws::writer::{Close, CloseSignals, write_loop};

/// A socket that takes everything, and sends it on a flush unless blocked.
#[derive(Clone, Default)]
struct Pipe(Arc<Mutex<PipeState>>);

#[derive(Default)]
struct PipeState {
    sent: Vec<Message>,
    held: Vec<Message>,
    blocked: bool,
    /// Whoever last found the pipe blocked.
    waker: Option<Waker>,
}

impl Pipe {
    fn state(&self) -> MutexGuard<'_, PipeState> {
        self.0.lock().unwrap()
    }

    fn block(&self) {
        self.state().blocked = true;
    }

    fn unblock(&self) {
        let waker = {
            let mut state = self.state();
            state.blocked = false;
            state.waker.take()
        };
        waker.into_iter().for_each(Waker::wake);
    }

    /// The writer task waits for the pipe: the waker is a task's, not the
    /// no-op one of a sender's attempt, which waits for nothing (whose data
    /// pointer is null; `will_wake` may not tell two no-op wakers apart).
    fn writer_waits(&self) -> bool {
        (self.state().waker.as_ref()).is_some_and(|w| !w.data().is_null())
    }

    fn sent(&self) -> Vec<String> {
        (self.state().sent.iter())
            .map(|m| match m {
                Message::Text(text) => text.to_string(),
                Message::Close(Some(close)) => format!("close {}", close.code),
                other => format!("{other:?}"),
            })
            .collect()
    }
}

impl Sink<Message> for Pipe {
    type Error = axum::Error;

    fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
        self.state().held.push(item);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let mut state = self.state();
        if state.blocked {
            state.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let held = std::mem::take(&mut state.held);
        state.sent.extend(held);
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.poll_flush(cx)
    }
}

fn frame(i: usize) -> Frame {
    Frame::Text(Bytes::from(i.to_string()))
}

fn texts(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| i.to_string()).collect()
}

/// An outlet on `pipe` and its writer task; the sender closes it.
fn start(pipe: &Pipe) -> (Arc<Outlet<Pipe>>, JoinHandle<()>, oneshot::Sender<Close>) {
    let outlet = Arc::new(Outlet::new(pipe.clone()));
    let (close_tx, close_rx) = oneshot::channel();
    let signals = CloseSignals {
        session_ended: CancellationToken::new(),
        shutdown: CancellationToken::new(),
    };
    let writing = outlet.clone();
    let writer = tokio::spawn(async move { write_loop(&writing, close_rx, signals).await });
    (outlet, writer, close_tx)
}

/// Waits, boundedly, until `done`.
async fn until(what: &str, done: impl Fn() -> bool) {
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    waited
        .await
        .unwrap_or_else(|_| panic!("still waiting: {what}"));
}

#[tokio::test]
async fn frames_keep_their_order_across_a_socket_that_blocks() {
    let pipe = Pipe::default();
    let (outlet, _writer, _close) = start(&pipe);
    for i in 0..3 {
        assert!(outlet.send(frame(i)).is_ok());
    }
    // An idle socket takes each frame at once, from its sender.
    assert_eq!(pipe.sent(), texts(0..3));

    pipe.block();
    for i in 3..6 {
        assert!(outlet.send(frame(i)).is_ok());
    }
    assert_eq!(pipe.sent(), texts(0..3));
    until("the writer task waits for the socket", || {
        pipe.writer_waits()
    })
    .await;
    // Frames sent meanwhile queue behind it and leave its wake-up alone:
    // if a sender had registered its own instead, the writer would sleep
    // for ever once the socket frees.
    for i in 6..9 {
        assert!(outlet.send(frame(i)).is_ok());
    }
    assert!(pipe.writer_waits());
    pipe.unblock();
    until("the queue is sent", || pipe.sent().len() == 9).await;
    assert_eq!(pipe.sent(), texts(0..9));

    for i in 9..12 {
        assert!(outlet.send(frame(i)).is_ok());
    }
    until("the last frames are sent", || pipe.sent().len() == 12).await;
    assert_eq!(pipe.sent(), texts(0..12));
}

#[tokio::test]
async fn a_full_queue_marks_the_connection_too_slow() {
    let pipe = Pipe::default();
    let outlet = Outlet::new(pipe.clone());
    pipe.block();
    // One frame in the socket, unfinished, then a full queue behind it.
    for i in 0..=OUTBOUND_QUEUE {
        assert!(outlet.send(frame(i)).is_ok(), "frame {i} refused");
    }
    assert!(!outlet.too_slow.is_cancelled());
    assert_eq!(
        outlet.send(frame(OUTBOUND_QUEUE + 1)),
        Err(NotSent::TooSlow)
    );
    assert!(outlet.too_slow.is_cancelled());
}

#[tokio::test]
async fn queued_frames_go_before_the_close_and_nothing_after_it() {
    let pipe = Pipe::default();
    let (outlet, writer, close) = start(&pipe);
    pipe.block();
    for i in 0..4 {
        assert!(outlet.send(frame(i)).is_ok());
    }
    until("the writer task waits for the socket", || {
        pipe.writer_waits()
    })
    .await;
    close
        .send((CloseCode::GoingAway, "server shutting down"))
        .unwrap();
    pipe.unblock();
    writer.await.unwrap();
    let mut expected = texts(0..4);
    expected.push(format!("close {}", CloseCode::GoingAway.code()));
    assert_eq!(pipe.sent(), expected);
    assert_eq!(
        outlet.send(frame(4)),
        Err(NotSent::Closed),
        "a frame was taken after the close"
    );
}
