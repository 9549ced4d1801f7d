//! The HTTP edge: thin axum handlers, one file per resource, that turn
//! requests into service calls and answers. Every refusal is
//! `{"error":{"code","message"}}` with a stable code (`docs/protocol.md`
//! section 4), including malformed bodies, unknown paths and methods.
//!
//! # Layout
//! - [`auth`], [`catalog`], [`carts`], [`members`]: the API, by resource.
//! - [`system`]: health, metrics, the web client, unknown paths.
//! - [`extract`]: the extractors (JSON body, session, cart access).
//! - [`session`]: tokens in headers and cookies.
//! - [`error`]: the one error type, `AppError`.

pub mod auth;
pub mod carts;
pub mod catalog;
pub mod error;
pub mod extract;
pub mod members;
pub mod session;
pub mod system;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use cartroom_protocol::limits::MAX_FRAME_BYTES;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::ws;

/// The whole HTTP surface: API, WebSocket, health, metrics and the web client.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(auth::routes())
        .merge(catalog::routes())
        .merge(carts::routes())
        .merge(members::routes())
        .merge(system::routes())
        .route("/ws", get(ws::handler))
        .method_not_allowed_fallback(system::method_not_allowed);
    system::with_web_client(api, &state.config.web_dir)
        .layer(DefaultBodyLimit::max(MAX_FRAME_BYTES))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
