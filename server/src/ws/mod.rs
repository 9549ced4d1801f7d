//! The WebSocket endpoint `/ws`: one reader loop and one writer task per
//! connection.
//!
//! The handshake is authenticated (401 before any upgrade) and checks
//! `Origin` (403), so a page on another site cannot ride a shopper's cookie.
//! The reader parses, rate-limits and routes messages to rooms. Rooms send
//! through the connection's outlet, which writes at once to an idle socket
//! and else queues, boundedly; the writer drains that queue, pings, and
//! closes the socket with the documented code when the reader, a full
//! queue (slow consumer), a sign-out or shutdown asks for it.
//!
//! # Layout
//! - [`origin`]: which pages may open a socket.
//! - [`conn`]: a connection as rooms see it (a [`Subscriber`](crate::room::Subscriber)).
//! - [`outlet`]: its sending side, shared by senders and the writer.
//! - [`reader`], [`writer`]: the two halves of a connection.

pub mod conn;
pub mod origin;
pub mod outlet;
pub mod reader;
mod subscribe;
pub mod writer;

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use cartroom_protocol::limits::MAX_FRAME_BYTES;
use cartroom_protocol::{ErrorCode, FEATURES, PROTOCOL_VERSION, ServerMsg};
use futures_util::StreamExt;
use futures_util::stream::{SplitSink, SplitStream};
use tokio::sync::oneshot;
use tracing::Instrument;

use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::SignedIn;
use crate::http::session::{TokenSource, cookie_origin_allowed};
use crate::room::{Frame, RoomCmd, Subscriber};
use crate::serve::ConnSlot;
use conn::Conn;
use origin::origin_allowed;
use outlet::Outlet;
use reader::{ReadEnd, Reader};
use writer::{CloseSignals, write_loop};

/// How often the server pings.
pub const PING_EVERY: Duration = Duration::from_secs(20);
/// Silence after which the connection is closed with 4002.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Messages dropped by the rate limit before the connection is closed with 4029.
pub const MAX_DROPPED: u32 = 200;
/// How long a closing connection waits for the client's close answer.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// How long the writer may take to flush the close frame.
const WRITER_GRACE: Duration = Duration::from_secs(5);
/// Frames are gathered up to this size before a write; a flush sends the rest.
const WRITE_BUFFER: usize = 8 * 1024;
/// Socket read buffer: small, since client messages are small (an op is a
/// few hundred bytes) and there may be tens of thousands of sockets; a
/// larger message grows it for its own length.
const READ_BUFFER: usize = 2 * 1024;

pub async fn handler(
    State(state): State<AppState>,
    slot: Option<Extension<ConnSlot>>,
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
    let signed_in = match SignedIn::from_headers(&state, &headers).await {
        Ok(signed_in) => signed_in,
        Err(e) => return e.into_response(),
    };
    // A cookie rides along with any page's request, so it needs a checked Origin.
    if signed_in.source == TokenSource::Cookie
        && !cookie_origin_allowed(&headers, &state.config.allowed_origins)
    {
        return forbidden();
    }
    if state.services.live.is_full() {
        return AppError::new(
            ErrorCode::Unavailable,
            "this server holds as many connections as it may; try again later",
        )
        .into_response();
    }
    // Taken before the upgrade, so that a refusal is an HTTP answer.
    let max_per_user = state.config.max_connections_per_user;
    let Some(user_slot) = state
        .services
        .live
        .take_user_slot(signed_in.session.user.id, max_per_user)
    else {
        metrics::counter!("cartroom_connections_refused_total", "reason" => "per_user")
            .increment(1);
        return AppError::new(
            ErrorCode::RateLimited,
            format!("one user may hold {max_per_user} connections at once; close one first"),
        )
        .into_response();
    };
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .on_upgrade(move |socket| {
            let tracker = state.lifecycle.tracker.clone();
            // Split here: every future that holds the socket by value keeps
            // room for all of it (~370 bytes) in each connection's task.
            let (sink, stream) = socket.split();
            tracker.track_future(async move {
                // The socket counts against its address and its user until it closes.
                let _slots = (slot, user_slot);
                serve(state, sink, stream, signed_in).await;
            })
        })
}

async fn serve(
    state: AppState,
    sink: SplitSink<WebSocket, Message>,
    mut stream: SplitStream<WebSocket>,
    signed_in: SignedIn,
) {
    let user = &signed_in.session.user;
    let live = &state.services.live;
    let conn_id = live.next_conn_id();
    let outlet = Arc::new(Outlet::new(sink));
    let conn = Arc::new(Conn::new(
        conn_id,
        signed_in.actor(),
        outlet.clone(),
        live.clone(),
    ));
    let registration = live.register(&signed_in.session.token_hash, user.id, conn.clone());
    let span = tracing::info_span!("conn", %conn_id, user_id = %user.id);
    async {
        conn.deliver(Frame::msg(&ServerMsg::Hello {
            protocol: PROTOCOL_VERSION,
            server: format!("cartroom/{}", env!("CARGO_PKG_VERSION")),
            features: FEATURES.iter().map(|f| (*f).to_owned()).collect(),
            conn_id,
            user_id: user.id,
            name: user.name.clone(),
        }));
        let (close_tx, close_rx) = oneshot::channel();
        let signals = CloseSignals {
            session_ended: registration.ended.clone(),
            shutdown: state.lifecycle.shutdown.clone(),
        };
        let mut writer = tokio::spawn(
            async move { write_loop(&outlet, close_rx, signals).await }.in_current_span(),
        );
        let mut reader = Reader::new(state.clone(), conn.clone());
        let ended = reader.run(&mut stream, &registration.ended).await;
        tracing::debug!(?ended, "reader finished");
        let server_closes = !matches!(ended, ReadEnd::Stopped)
            || state.lifecycle.shutdown.is_cancelled()
            || conn.outlet.too_slow.is_cancelled()
            || registration.ended.is_cancelled();
        // The writer ends once it is sent a close, or once `close_tx` is
        // dropped unsent (after the drain below).
        let close_tx = match ended {
            ReadEnd::Close(close) | ReadEnd::Broken(close) => {
                let _ = close_tx.send(close);
                None
            }
            ReadEnd::Stopped => Some(close_tx),
        };
        // Closing a TCP socket with unread input resets it, and the reset
        // destroys the close frame and whatever was queued before it: the
        // client must have had time to read them first.
        if matches!(ended, ReadEnd::Broken(_)) {
            // The client may still be sending (the rest of an oversized
            // message): keep reading and dropping bytes, so that its send
            // completes and it reads the close, for the whole grace.
            let swallow = async {
                while stream.next().await.is_some() {}
                std::future::pending::<()>().await
            };
            let _ = tokio::time::timeout(CLOSE_GRACE, swallow).await;
        } else if server_closes {
            // Read (and drop) until the client answers the close.
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
        for cart in conn.take_subscriptions() {
            let cmd = RoomCmd::Unsubscribe {
                conn_id,
                notify: false,
            };
            state.services.rooms.send_if_loaded(cart, cmd).await;
        }
        // A client that stopped reading can block the writer for ever (its
        // TCP window is full): end it, and the socket with it.
        if tokio::time::timeout(WRITER_GRACE, &mut writer)
            .await
            .is_err()
        {
            writer.abort();
            tracing::debug!("writer aborted after the grace");
        }
        tracing::debug!("connection closed");
    }
    .instrument(span)
    .await;
}
