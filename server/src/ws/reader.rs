//! The reading half of a connection: rate-limits, parses, checks what
//! needs no room (bounds, subscriptions) and routes each message to its
//! cart's room.

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use cartroom_protocol::limits::{
    MAX_CHAT_CHARS, MAX_NONCE_CHARS, MAX_PRESENCE_STATUS_CHARS, RATE_BURST, RATE_PER_SECOND,
};
use cartroom_protocol::{CartId, ClientMsg, CloseCode, ErrorCode, Op, OpId, ServerMsg};
use futures_util::StreamExt;
use futures_util::stream::SplitStream;
use governor::{Quota, RateLimiter};
use tokio_util::sync::CancellationToken;

use super::conn::{Conn, Reach};
use super::writer::Close;
use super::{IDLE_TIMEOUT, MAX_DROPPED};
use crate::app::AppState;
use crate::refusal::Refusal;
use crate::room::{Frame, OpOrigin, RoomCmd, Subscriber};
use crate::services::ServiceError;
use crate::text;

/// The reading side of one connection.
pub struct Reader {
    pub state: AppState,
    pub conn: Arc<Conn>,
    /// Messages dropped by the rate limit so far.
    dropped: u32,
    /// The user's subscription limit across connections, learnt at the
    /// first subscribe (staff watch many carts).
    pub(super) max_subscriptions: Option<usize>,
}

impl Reader {
    pub fn new(state: AppState, conn: Arc<Conn>) -> Self {
        Self {
            state,
            conn,
            dropped: 0,
            max_subscriptions: None,
        }
    }

    /// Reads until the socket ends; says how, and the close to send.
    pub async fn run(
        &mut self,
        stream: &mut SplitStream<WebSocket>,
        session_ended: &CancellationToken,
    ) -> ReadEnd {
        let quota = Quota::per_second(NonZeroU32::new(RATE_PER_SECOND).expect("non-zero"))
            .allow_burst(NonZeroU32::new(RATE_BURST).expect("non-zero"));
        let limiter = RateLimiter::direct(quota);
        let shutdown = self.state.lifecycle.shutdown.clone();
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => return ReadEnd::Stopped,
                _ = self.conn.outlet.too_slow.cancelled() => return ReadEnd::Stopped,
                _ = session_ended.cancelled() => return ReadEnd::Stopped,
                next = tokio::time::timeout(IDLE_TIMEOUT, stream.next()) => next,
            };
            let msg = match next {
                Err(_) => return ReadEnd::Close((CloseCode::Timeout, "no traffic for 60 s")),
                Ok(None) => return ReadEnd::Stopped,
                Ok(Some(Err(e))) => return read_error(e),
                Ok(Some(Ok(msg))) => msg,
            };
            match msg {
                Message::Text(text) => {
                    if limiter.check().is_err() {
                        self.dropped += 1;
                        metrics::counter!("cartroom_rate_limited_total").increment(1);
                        if self.dropped > MAX_DROPPED {
                            return ReadEnd::Close((
                                CloseCode::RateLimitExceeded,
                                "kept sending over the rate limit",
                            ));
                        }
                        let refusal = Refusal::new(
                            ErrorCode::RateLimited,
                            format!("slow down: at most {RATE_PER_SECOND} messages a second"),
                        );
                        self.refuse_message(&refusal, &text);
                        continue;
                    }
                    match serde_json::from_str::<ClientMsg>(&text) {
                        // Boxed: handling a message (a subscribe reads the
                        // store) is a large future, which would otherwise
                        // take room in every connection's task while it
                        // waits for its next message.
                        Ok(msg) => Box::pin(self.handle(msg)).await,
                        Err(e) => {
                            let mut message = format!("not a protocol v1 message: {e}");
                            message.truncate(300);
                            let refusal = Refusal::new(ErrorCode::BadMessage, message);
                            self.refuse_message(&refusal, &text);
                        }
                    }
                }
                Message::Binary(_) => {
                    return ReadEnd::Close((
                        CloseCode::ProtocolError,
                        "clients send text frames only",
                    ));
                }
                Message::Close(_) => return ReadEnd::Stopped,
                Message::Ping(_) | Message::Pong(_) => {}
            }
        }
    }

    /// Refuses a message that was not handled, echoing its `cart_id` and
    /// `op_id` when they can be read, so that a client waiting for the
    /// answer to an op gets it.
    fn refuse_message(&self, refusal: &Refusal, text: &str) {
        let ids = MessageIds::read(text);
        self.conn
            .deliver(Frame::refusal(refusal, ids.cart_id, ids.op_id));
    }

    pub(super) fn refuse(
        &self,
        code: ErrorCode,
        message: impl Into<String>,
        cart_id: Option<CartId>,
    ) {
        self.conn
            .deliver(Frame::refusal(&Refusal::new(code, message), cart_id, None));
    }

    pub(super) async fn to_room(&self, cart: CartId, cmd: RoomCmd) {
        if self.state.services.rooms.send(cart, cmd).await.is_err() {
            self.refuse(
                ErrorCode::Unavailable,
                "the server is shutting down",
                Some(cart),
            );
        }
    }

    /// Refuses a message naming a cart this connection is not subscribed to.
    fn check_subscribed(&self, cart_id: CartId) -> bool {
        if self.conn.is_subscribed(cart_id) {
            return true;
        }
        self.refuse(
            ErrorCode::NotSubscribed,
            "subscribe to this cart first",
            Some(cart_id),
        );
        false
    }

    async fn handle(&mut self, msg: ClientMsg) {
        match msg {
            ClientMsg::Subscribe {
                cart_id,
                heads,
                stream,
            } => {
                self.subscribe(cart_id, heads, stream.unwrap_or_default())
                    .await;
            }
            ClientMsg::Unsubscribe { cart_id } => {
                if !self.conn.remove_subscription(cart_id) {
                    return self.refuse(
                        ErrorCode::NotSubscribed,
                        "subscribe to this cart first",
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
                let Some(reach) = self.conn.reach(cart_id) else {
                    let refusal =
                        Refusal::new(ErrorCode::NotSubscribed, "subscribe to this cart first");
                    self.conn
                        .deliver(Frame::refusal(&refusal, Some(cart_id), Some(op_id)));
                    return;
                };
                if reach == Reach::Support {
                    return self.staff_op(cart_id, op_id, op).await;
                }
                let origin = OpOrigin::Subscriber(self.conn.clone());
                self.to_room(
                    cart_id,
                    RoomCmd::Op {
                        origin,
                        op_id,
                        op: Box::new(op),
                    },
                )
                .await;
            }
            ClientMsg::Presence { cart_id, status } => {
                if !self.check_subscribed(cart_id) {
                    return;
                }
                if let Some(status) = &status
                    && let Err(refusal) =
                        text::check_line("a presence status", status, MAX_PRESENCE_STATUS_CHARS)
                {
                    return self.refuse(refusal.code, refusal.message, Some(cart_id));
                }
                let conn_id = self.conn.id;
                self.to_room(cart_id, RoomCmd::Presence { conn_id, status })
                    .await;
            }
            ClientMsg::Chat { cart_id, text } => {
                if !self.check_subscribed(cart_id) {
                    return;
                }
                if self.conn.reach(cart_id) == Some(Reach::Support) {
                    return self.refuse(
                        ErrorCode::Forbidden,
                        "staff talk with the customer in the support conversation",
                        Some(cart_id),
                    );
                }
                if text.trim().is_empty() {
                    return self.refuse(
                        ErrorCode::InvalidField,
                        format!("a chat message has 1 to {MAX_CHAT_CHARS} characters"),
                        Some(cart_id),
                    );
                }
                if let Err(refusal) = text::check_multiline("a chat message", &text, MAX_CHAT_CHARS)
                {
                    return self.refuse(refusal.code, refusal.message, Some(cart_id));
                }
                let conn = self.conn.clone();
                self.to_room(cart_id, RoomCmd::Chat { conn, text }).await;
            }
            ClientMsg::Ping { nonce } => {
                if !nonce.as_ref().is_none_or(nonce_ok) {
                    return self.refuse(
                        ErrorCode::InvalidField,
                        format!(
                            "a nonce is a number, a boolean or a string of at most {MAX_NONCE_CHARS} characters"
                        ),
                        None,
                    );
                }
                self.conn.deliver(Frame::msg(&ServerMsg::Pong { nonce }));
            }
        }
    }

    /// An op of the store's staff on a customer's cart: checked against
    /// their access now (an ended takeover refuses it), made under their
    /// support name, and answered on this connection like any op.
    async fn staff_op(&self, cart_id: CartId, op_id: OpId, op: Op) {
        let reach = match self
            .state
            .services
            .carts
            .reach(cart_id, &self.conn.actor)
            .await
        {
            Ok(reach) => reach,
            Err(e) => {
                let refusal = match e {
                    ServiceError::Refused(refusal) => refusal,
                    ServiceError::Store(e) => {
                        tracing::error!(error = %e, "staff access lookup failed");
                        Refusal::unavailable()
                    }
                };
                self.conn
                    .deliver(Frame::refusal(&refusal, Some(cart_id), Some(op_id)));
                return;
            }
        };
        if let Err(refusal) = reach.check_change() {
            self.conn
                .deliver(Frame::refusal(&refusal, Some(cart_id), Some(op_id)));
            return;
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        let origin = OpOrigin::Direct {
            actor: reach.actor,
            role: reach.role,
            reply,
        };
        let answered = op_id.clone();
        let cmd = RoomCmd::Op {
            origin,
            op_id,
            op: Box::new(op),
        };
        // A room that cannot take the op drops the reply: the task below
        // answers `unavailable`.
        let _ = self.state.services.rooms.send(cart_id, cmd).await;
        let conn = self.conn.clone();
        self.state.lifecycle.tracker.spawn(async move {
            let frame = match answer.await {
                Ok(Ok(ack)) => Frame::msg(&ServerMsg::Ack {
                    cart_id,
                    op_id: ack.op_id,
                    heads: ack.heads,
                    duplicate: ack.duplicate,
                    created: ack.created,
                }),
                Ok(Err(refusal)) => Frame::refusal(&refusal, Some(cart_id), Some(answered)),
                Err(_) => Frame::refusal(&Refusal::unavailable(), Some(cart_id), Some(answered)),
            };
            conn.deliver(frame);
        });
    }
}

/// The ids a message names, read leniently from one that is not valid.
#[derive(Default)]
struct MessageIds {
    cart_id: Option<CartId>,
    op_id: Option<OpId>,
}

impl MessageIds {
    fn read(text: &str) -> Self {
        let Ok(serde_json::Value::Object(fields)) = serde_json::from_str(text) else {
            return Self::default();
        };
        let string = |name: &str| fields.get(name).and_then(|v| v.as_str());
        Self {
            cart_id: string("cart_id").and_then(|id| id.parse().ok()),
            op_id: string("op_id")
                .map(|id| OpId(id.to_owned()))
                .filter(OpId::is_valid),
        }
    }
}

/// A ping's nonce: any JSON scalar, strings bounded.
fn nonce_ok(nonce: &serde_json::Value) -> bool {
    use serde_json::Value;
    match nonce {
        Value::Null | Value::Bool(_) | Value::Number(_) => true,
        Value::String(s) => s.chars().count() <= MAX_NONCE_CHARS,
        Value::Array(_) | Value::Object(_) => false,
    }
}

/// How reading ended.
#[derive(Debug)]
pub enum ReadEnd {
    /// The client closed or went away, or the connection is being closed
    /// for another reason (shutdown, sign-out, slow consumer).
    Stopped,
    /// The server closes with this code; the stream still reads.
    Close(Close),
    /// The stream failed on the client's input (oversized, not WebSocket,
    /// not UTF-8) and cannot be read further; the server closes with this
    /// code.
    Broken(Close),
}

/// A read error: an oversized message gets 1009, a protocol violation 1002,
/// text that is not UTF-8 1007; a socket that failed just ends.
fn read_error(e: axum::Error) -> ReadEnd {
    use tokio_tungstenite::tungstenite::Error;
    tracing::debug!(error = %e, "socket read failed");
    let inner = e.into_inner();
    let close = match inner.downcast_ref::<Error>() {
        Some(Error::Capacity(_)) => (CloseCode::MessageTooBig, "messages are at most 64 KiB"),
        Some(Error::Protocol(_)) => (CloseCode::ProtocolError, "not a valid WebSocket frame"),
        Some(Error::Utf8(_)) => (CloseCode::InvalidPayload, "text frames are UTF-8"),
        _ => return ReadEnd::Stopped,
    };
    ReadEnd::Broken(close)
}
