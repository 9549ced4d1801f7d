//! The WebSocket endpoint `/ws`: one reader loop and one writer task per
//! connection.
//!
//! The handshake is authenticated (401 before any upgrade) and checks
//! `Origin` (403), so a page on another site cannot ride a shopper's cookie.
//! The reader parses, rate-limits and routes messages to rooms; the writer
//! drains the bounded outbound queue that rooms fill, pings, and closes the
//! socket with the documented code when the reader, a room (slow consumer),
//! a sign-out or shutdown asks for it.

use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use automerge::ChangeHash;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};
use axum::response::{IntoResponse, Response};
use cartroom_protocol::limits::{
    MAX_CHAT_CHARS, MAX_FRAME_BYTES, MAX_HEADS, MAX_PRESENCE_STATUS_CHARS,
    MAX_SUBSCRIPTIONS_PER_CONNECTION, RATE_BURST, RATE_PER_SECOND,
};
use cartroom_protocol::{CartId, ClientMsg, CloseCode, ErrorCode, PROTOCOL_VERSION, ServerMsg};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use governor::{Quota, RateLimiter};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::auth::{Authed, TokenSource};
use crate::cart::Actor;
use crate::error::AppError;
use crate::room::{Conn, ConnHandle, OpOrigin, RoomCmd, error_msg};
use crate::state::{AppState, LiveSession};
use crate::store;

/// Frames queued for one connection before it counts as a slow consumer.
pub const OUTBOUND_QUEUE: usize = 1024;
/// How often the server pings.
pub const PING_EVERY: Duration = Duration::from_secs(20);
/// Silence after which the connection is closed with 4002.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Messages dropped by the rate limit before the connection is closed with 4029.
pub const MAX_DROPPED: u32 = 200;
/// How long a closing connection waits for the client's close answer.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Frames are gathered up to this size before a write; a flush sends the rest.
const WRITE_BUFFER: usize = 8 * 1024;
/// Socket read buffer: small, since client messages are small and there may be tens of thousands of sockets.
const READ_BUFFER: usize = 4 * 1024;

/// Checks `Origin` against the server's own origin and the allow-list.
/// Requests without `Origin` (non-browser clients) pass; a browser always sends it.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let own = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|host| {
            origin == format!("http://{host}") || origin == format!("https://{host}")
        });
    own || allowed.iter().any(|a| a.trim_end_matches('/') == origin)
}

pub async fn handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let forbidden = || {
        AppError::new(
            ErrorCode::Forbidden,
            "this origin may not open a Cartroom socket",
        )
        .into_response()
    };
    if !origin_allowed(&headers, &state.config.allowed_origins) {
        return forbidden();
    }
    let authed = match Authed::from_headers(&state, &headers).await {
        Ok(authed) => authed,
        Err(e) => return e.into_response(),
    };
    // A cookie rides along with any page's request, so it needs a checked Origin.
    if authed.source == TokenSource::Cookie && !headers.contains_key(ORIGIN) {
        return forbidden();
    }
    if state.connections.len() >= state.config.max_connections {
        return AppError::new(
            ErrorCode::Unavailable,
            "this server holds as many connections as it may; try again later",
        )
        .into_response();
    }
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .on_upgrade(move |socket| {
            let conn_id = state.next_conn_id.fetch_add(1, Ordering::Relaxed);
            let span = tracing::info_span!("conn", conn_id, user_id = %authed.user.id);
            let tracker = state.tracker.clone();
            tracker.track_future(serve(state, socket, conn_id, authed).instrument(span))
        })
}

async fn serve(state: AppState, socket: WebSocket, conn_id: u64, authed: Authed) {
    metrics::gauge!("cartroom_connections").increment(1.0);
    let session_ended = CancellationToken::new();
    state.connections.insert(
        conn_id,
        LiveSession {
            token_hash: authed.token_hash.clone(),
            ended: session_ended.clone(),
        },
    );
    let (sink, mut stream) = socket.split();
    let (outbound, outbound_rx) = mpsc::channel(OUTBOUND_QUEUE);
    let conn: ConnHandle = Arc::new(Conn {
        id: conn_id,
        actor: Actor {
            user_id: authed.user.id,
            name: authed.user.name.clone(),
        },
        outbound,
        too_slow: CancellationToken::new(),
    });
    conn.send_msg(&ServerMsg::Hello {
        protocol: PROTOCOL_VERSION,
        conn_id,
        user_id: authed.user.id,
        name: authed.user.name.clone(),
    });
    let (close_tx, close_rx) = mpsc::channel(1);
    let writer = tokio::spawn(
        write_loop(
            sink,
            outbound_rx,
            close_rx,
            conn.too_slow.clone(),
            session_ended.clone(),
            state.shutdown.clone(),
        )
        .in_current_span(),
    );
    let mut reader = Reader {
        state: state.clone(),
        conn: conn.clone(),
        subscriptions: HashSet::new(),
        dropped: 0,
    };
    let close = reader.run(&mut stream, &session_ended).await;
    tracing::debug!(?close, "reader finished");
    let server_closes = close.is_some()
        || state.shutdown.is_cancelled()
        || conn.too_slow.is_cancelled()
        || session_ended.is_cancelled();
    if let Some(close) = close {
        let _ = close_tx.send(close).await;
    }
    if server_closes {
        // Read (and drop) until the client answers the close: closing a TCP
        // socket with unread input resets it, and the reset would destroy
        // the close frame and whatever was queued before it.
        let drain = async {
            while let Some(Ok(msg)) = stream.next().await {
                if matches!(msg, Message::Close(_)) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(CLOSE_GRACE, drain).await;
    }
    drop(close_tx);
    // A room that has unloaded has forgotten this connection already.
    for cart in reader.subscriptions.drain() {
        state
            .rooms
            .send_if_loaded(
                cart,
                RoomCmd::Unsubscribe {
                    conn_id,
                    notify: false,
                },
            )
            .await;
    }
    // Give the writer a moment to flush the close frame.
    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
    state.connections.remove(&conn_id);
    metrics::gauge!("cartroom_connections").decrement(1.0);
    tracing::debug!("connection closed");
}

type Close = (CloseCode, &'static str);

async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut outbound: mpsc::Receiver<Message>,
    mut close_rx: mpsc::Receiver<Close>,
    too_slow: CancellationToken,
    session_ended: CancellationToken,
    shutdown: CancellationToken,
) {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let close = loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break Some((CloseCode::GoingAway, "server shutting down")),
            _ = too_slow.cancelled() => break Some((CloseCode::SlowConsumer, "outbound queue full; resubscribe with your heads")),
            _ = session_ended.cancelled() => break Some((CloseCode::SessionEnded, "signed out")),
            close = close_rx.recv() => break close,
            msg = outbound.recv() => {
                let Some(msg) = msg else { break None };
                // Whatever else is queued goes out with it, in one flush.
                let mut batch = Some(msg);
                while let Some(msg) = batch.take().or_else(|| outbound.try_recv().ok()) {
                    if sink.feed(msg).await.is_err() {
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
            while let Ok(msg) = outbound.try_recv() {
                if sink.send(msg).await.is_err() {
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

/// The reading side of one connection.
struct Reader {
    state: AppState,
    conn: ConnHandle,
    subscriptions: HashSet<CartId>,
    dropped: u32,
}

impl Reader {
    /// Reads until the socket ends; returns the close to send, if any.
    async fn run(
        &mut self,
        stream: &mut SplitStream<WebSocket>,
        session_ended: &CancellationToken,
    ) -> Option<Close> {
        let quota = Quota::per_second(NonZeroU32::new(RATE_PER_SECOND).expect("non-zero"))
            .allow_burst(NonZeroU32::new(RATE_BURST).expect("non-zero"));
        let limiter = RateLimiter::direct(quota);
        loop {
            let next = tokio::select! {
                _ = self.state.shutdown.cancelled() => return None,
                _ = self.conn.too_slow.cancelled() => return None,
                _ = session_ended.cancelled() => return None,
                next = tokio::time::timeout(IDLE_TIMEOUT, stream.next()) => next,
            };
            let msg = match next {
                Err(_) => return Some((CloseCode::Timeout, "no traffic for 60 s")),
                Ok(None) => return None,
                Ok(Some(Err(e))) => return read_error_close(e),
                Ok(Some(Ok(msg))) => msg,
            };
            match msg {
                Message::Text(text) => {
                    if limiter.check().is_err() {
                        self.dropped += 1;
                        metrics::counter!("cartroom_rate_limited_total").increment(1);
                        if self.dropped > MAX_DROPPED {
                            return Some((
                                CloseCode::RateLimitExceeded,
                                "kept sending over the rate limit",
                            ));
                        }
                        self.conn.send_msg(&error_msg(
                            ErrorCode::RateLimited,
                            format!("slow down: at most {RATE_PER_SECOND} messages a second"),
                            None,
                            None,
                        ));
                        continue;
                    }
                    match serde_json::from_str::<ClientMsg>(&text) {
                        Ok(msg) => self.handle(msg).await,
                        Err(e) => {
                            let mut message = format!("not a protocol v1 message: {e}");
                            message.truncate(300);
                            self.conn.send_msg(&error_msg(
                                ErrorCode::BadMessage,
                                message,
                                None,
                                None,
                            ));
                        }
                    }
                }
                Message::Binary(_) => {
                    return Some((CloseCode::ProtocolError, "clients send text frames only"));
                }
                Message::Close(_) => return None,
                Message::Ping(_) | Message::Pong(_) => {}
            }
        }
    }

    fn refuse(&self, code: ErrorCode, message: impl Into<String>, cart_id: Option<CartId>) {
        self.conn.send_msg(&error_msg(code, message, cart_id, None));
    }

    async fn to_room(&self, cart: CartId, cmd: RoomCmd) {
        if self.state.rooms.send(&self.state, cart, cmd).await.is_err() {
            self.refuse(
                ErrorCode::Unavailable,
                "the server is shutting down",
                Some(cart),
            );
        }
    }

    async fn handle(&mut self, msg: ClientMsg) {
        match msg {
            ClientMsg::Subscribe { cart_id, heads } => self.subscribe(cart_id, heads).await,
            ClientMsg::Unsubscribe { cart_id } => {
                if !self.subscriptions.remove(&cart_id) {
                    return self.refuse(
                        ErrorCode::NotSubscribed,
                        "not subscribed to this cart",
                        Some(cart_id),
                    );
                }
                let conn_id = self.conn.id;
                self.to_room(
                    cart_id,
                    RoomCmd::Unsubscribe {
                        conn_id,
                        notify: true,
                    },
                )
                .await;
            }
            ClientMsg::Op { cart_id, op_id, op } => {
                if !self.subscriptions.contains(&cart_id) {
                    self.conn.send_msg(&error_msg(
                        ErrorCode::NotSubscribed,
                        "subscribe to this cart first",
                        Some(cart_id),
                        Some(op_id),
                    ));
                    return;
                }
                let origin = OpOrigin::Conn(self.conn.clone());
                self.to_room(cart_id, RoomCmd::Op { origin, op_id, op })
                    .await;
            }
            ClientMsg::Presence { cart_id, status } => {
                if !self.subscriptions.contains(&cart_id) {
                    return self.refuse(
                        ErrorCode::NotSubscribed,
                        "subscribe to this cart first",
                        Some(cart_id),
                    );
                }
                if status
                    .as_ref()
                    .is_some_and(|s| s.chars().count() > MAX_PRESENCE_STATUS_CHARS)
                {
                    return self.refuse(
                        ErrorCode::InvalidField,
                        format!(
                            "a presence status has at most {MAX_PRESENCE_STATUS_CHARS} characters"
                        ),
                        Some(cart_id),
                    );
                }
                let conn_id = self.conn.id;
                self.to_room(cart_id, RoomCmd::Presence { conn_id, status })
                    .await;
            }
            ClientMsg::Chat { cart_id, text } => {
                if !self.subscriptions.contains(&cart_id) {
                    return self.refuse(
                        ErrorCode::NotSubscribed,
                        "subscribe to this cart first",
                        Some(cart_id),
                    );
                }
                let chars = text.trim().chars().count();
                if chars == 0 || chars > MAX_CHAT_CHARS {
                    return self.refuse(
                        ErrorCode::InvalidField,
                        format!("a chat message has 1 to {MAX_CHAT_CHARS} characters"),
                        Some(cart_id),
                    );
                }
                let conn = self.conn.clone();
                self.to_room(cart_id, RoomCmd::Chat { conn, text }).await;
            }
            ClientMsg::Ping { nonce } => {
                self.conn.send_msg(&ServerMsg::Pong { nonce });
            }
        }
    }

    async fn subscribe(&mut self, cart_id: CartId, heads: Option<Vec<String>>) {
        if !self.subscriptions.contains(&cart_id)
            && self.subscriptions.len() >= MAX_SUBSCRIPTIONS_PER_CONNECTION
        {
            return self.refuse(
                ErrorCode::TooManySubscriptions,
                format!("at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} carts per connection"),
                Some(cart_id),
            );
        }
        let heads = match heads {
            None => None,
            Some(heads) if heads.len() > MAX_HEADS => {
                return self.refuse(
                    ErrorCode::InvalidField,
                    format!("at most {MAX_HEADS} heads"),
                    Some(cart_id),
                );
            }
            Some(heads) => match heads
                .iter()
                .map(|h| h.parse::<ChangeHash>())
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(heads) => Some(heads),
                Err(_) => {
                    return self.refuse(
                        ErrorCode::InvalidField,
                        "heads are 64-digit hex change hashes",
                        Some(cart_id),
                    );
                }
            },
        };
        let role = match store::role_of(&self.state.pool, cart_id, self.conn.actor.user_id).await {
            Ok(Some(role)) => role,
            Ok(None) => {
                return self.refuse(
                    ErrorCode::CartNotFound,
                    "no such cart, or you are not a member",
                    Some(cart_id),
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "membership lookup failed");
                return self.refuse(
                    ErrorCode::Unavailable,
                    "try again in a moment",
                    Some(cart_id),
                );
            }
        };
        self.subscriptions.insert(cart_id);
        let conn = self.conn.clone();
        self.to_room(cart_id, RoomCmd::Subscribe { conn, role, heads })
            .await;
    }
}

/// A read error: an oversized message gets 1009, anything else just ends.
fn read_error_close(e: axum::Error) -> Option<Close> {
    tracing::debug!(error = %e, "socket read failed");
    let inner = e.into_inner();
    match inner.downcast_ref::<tokio_tungstenite::tungstenite::Error>() {
        Some(tokio_tungstenite::tungstenite::Error::Capacity(_)) => {
            Some((CloseCode::MessageTooBig, "messages are at most 64 KiB"))
        }
        _ => None,
    }
}
