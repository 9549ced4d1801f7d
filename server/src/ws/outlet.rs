//! The sending side of a connection, shared by whoever has a frame for it
//! (rooms, the reader, the node's live connections) and by its writer task.
//!
//! A frame for an idle connection is written at once, by the thread that
//! has it: handing every frame to the writer task costs a task wake-up, and
//! at a few edits per second a thread's wake-up, per frame. Once a write
//! cannot finish at once (the socket's buffer is full) frames queue, in
//! order, and the writer task drains them; a full queue closes the
//! connection as a slow consumer.
//!
//! Only one party writes at a time, and it is always the one that owns the
//! socket: a sender while the socket is idle, within one lock and without
//! waiting; else the writer task, which keeps it until the queue is empty
//! and the socket flushed. So the wake-up registered with the socket when a
//! write must wait is always the writer task's.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use futures_util::Sink;
use futures_util::stream::SplitSink;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::room::Frame;

/// Frames queued for one connection before it counts as a slow consumer.
pub const OUTBOUND_QUEUE: usize = 1024;

/// The socket's sending half.
pub type WsSink = SplitSink<WebSocket, Message>;

/// What an outlet writes to: [`WsSink`], or a test's sink.
pub trait MessageSink: Sink<Message, Error = axum::Error> + Unpin {}

impl<S: Sink<Message, Error = axum::Error> + Unpin> MessageSink for S {}

/// The socket failed or was closed: the connection is over.
#[derive(Debug)]
pub struct Broken;

/// Why a frame was not taken.
#[derive(Debug, PartialEq, Eq)]
pub enum NotSent {
    /// The connection is over.
    Closed,
    /// The queue is full: the connection closes as a slow consumer.
    TooSlow,
}

/// One connection's way out: a WebSocket's sending half, or in unit tests
/// a sink whose readiness the test decides.
pub struct Outlet<S = WsSink> {
    state: Mutex<State<S>>,
    /// Wakes the writer task: it owns the socket now (frames queued, or a
    /// write left unfinished).
    work: Notify,
    /// Cancelled when the queue is full: the connection then closes with
    /// 4008 (slow consumer).
    pub too_slow: CancellationToken,
}

struct State<S> {
    /// `None` once the writer task has ended.
    sink: Option<S>,
    /// Frames waiting for the writer task; empty unless it owns the socket.
    queue: VecDeque<Frame>,
    /// The writer task owns the socket: senders queue behind it.
    writer_owns: bool,
}

impl<S> std::fmt::Debug for Outlet<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outlet").finish_non_exhaustive()
    }
}

/// The WebSocket message of a room's frame.
pub fn message(frame: Frame) -> Message {
    match frame {
        Frame::Text(bytes) => {
            Message::Text(Utf8Bytes::try_from(bytes).expect("rooms send UTF-8 JSON"))
        }
        Frame::Binary(bytes) => Message::Binary(bytes),
    }
}

impl<S: MessageSink> Outlet<S> {
    pub fn new(sink: S) -> Self {
        Self {
            state: Mutex::new(State {
                sink: Some(sink),
                queue: VecDeque::new(),
                writer_owns: false,
            }),
            work: Notify::new(),
            too_slow: CancellationToken::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<S>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends `frame` now if the socket is idle and takes it at once, else
    /// queues it, without waiting either way.
    pub fn send(&self, frame: Frame) -> Result<(), NotSent> {
        let mut state = self.lock();
        let State {
            sink: Some(sink),
            queue,
            writer_owns,
        } = &mut *state
        else {
            return Err(NotSent::Closed);
        };
        if queue.len() >= OUTBOUND_QUEUE {
            drop(state);
            metrics::counter!("cartroom_slow_consumers_total").increment(1);
            self.too_slow.cancel();
            return Err(NotSent::TooSlow);
        }
        let mut sent = Ok(());
        // Past the calling task's runtime budget a socket answers "not
        // now" to every write: a room's further subscribers (past ~128 in
        // one go) get their frames through their writer tasks, which
        // spread over the runtime's threads.
        if !*writer_owns && tokio::task::coop::has_budget_remaining() {
            match write_now(sink, frame) {
                Attempt::Sent => return Ok(()),
                Attempt::Refused(frame) => queue.push_back(frame),
                Attempt::Unfinished => {}
                // The writer task finds the socket broken too, and ends.
                Attempt::Broken => sent = Err(NotSent::Closed),
            }
        } else {
            queue.push_back(frame);
        }
        // Whatever is left over is the writer task's.
        *writer_owns = true;
        drop(state);
        self.work.notify_one();
        sent
    }

    /// Waits until the writer task owns the socket.
    pub async fn work(&self) {
        loop {
            // A hand-over between the look and the wait is not missed:
            // `notify_one` leaves a permit when no one waits.
            let notified = self.work.notified();
            if self.lock().writer_owns {
                return;
            }
            notified.await;
        }
    }

    /// The writer task takes the socket, to ping or to close: senders
    /// queue from then on.
    pub fn take(&self) {
        self.lock().writer_owns = true;
    }

    /// The writer task takes what is queued; once nothing is, it gives the
    /// socket back to the senders unless `keep`.
    pub fn take_queued(&self, keep: bool) -> Vec<Frame> {
        let mut state = self.lock();
        let frames: Vec<Frame> = state.queue.drain(..).collect();
        if frames.is_empty() && !keep {
            state.writer_owns = false;
        }
        frames
    }

    /// Gives a message to the socket (the writer task; it owns it).
    pub async fn feed(&self, message: Message) -> Result<(), Broken> {
        poll_fn(|cx| self.poll_sink(cx, |sink, cx| sink.poll_ready(cx))).await?;
        let mut state = self.lock();
        let sink = state.sink.as_mut().ok_or(Broken)?;
        Pin::new(sink).start_send(message).map_err(|_| Broken)
    }

    /// Writes out what the socket holds (the writer task; it owns it).
    pub async fn flush(&self) -> Result<(), Broken> {
        poll_fn(|cx| self.poll_sink(cx, |sink, cx| sink.poll_flush(cx))).await
    }

    /// Sends a close frame and closes the socket (the writer task).
    pub async fn close(&self, message: Option<Message>) {
        if let Some(message) = message
            && self.feed(message).await.is_ok()
        {
            let _ = self.flush().await;
        }
        let _ = poll_fn(|cx| self.poll_sink(cx, |sink, cx| sink.poll_close(cx))).await;
    }

    fn poll_sink(
        &self,
        cx: &mut Context<'_>,
        poll: impl FnOnce(Pin<&mut S>, &mut Context<'_>) -> Poll<Result<(), axum::Error>>,
    ) -> Poll<Result<(), Broken>> {
        let mut state = self.lock();
        let Some(sink) = state.sink.as_mut() else {
            return Poll::Ready(Err(Broken));
        };
        poll(Pin::new(sink), cx).map_err(|_| Broken)
    }

    /// The writer task has ended: nothing more is sent, and the socket's
    /// sending half is let go.
    pub fn end(&self) {
        let mut state = self.lock();
        state.sink = None;
        state.queue.clear();
    }
}

/// How a sender's write went.
enum Attempt {
    /// All of it is sent.
    Sent,
    /// The socket would not take it yet.
    Refused(Frame),
    /// The socket took it but could not send all of it yet.
    Unfinished,
    Broken,
}

/// Writes `frame` without waiting. Nothing waits for a wake-up from this
/// attempt: whatever it leaves unfinished goes to the writer task, whose
/// own polls register theirs.
fn write_now<S: Sink<Message> + Unpin>(sink: &mut S, frame: Frame) -> Attempt {
    let mut cx = Context::from_waker(Waker::noop());
    let mut sink = Pin::new(sink);
    match sink.as_mut().poll_ready(&mut cx) {
        Poll::Ready(Ok(())) => {}
        Poll::Ready(Err(_)) => return Attempt::Broken,
        Poll::Pending => return Attempt::Refused(frame),
    }
    if sink.as_mut().start_send(message(frame)).is_err() {
        return Attempt::Broken;
    }
    match sink.poll_flush(&mut cx) {
        Poll::Ready(Ok(())) => Attempt::Sent,
        Poll::Ready(Err(_)) => Attempt::Broken,
        Poll::Pending => Attempt::Unfinished,
    }
}

#[cfg(test)]
mod tests;
