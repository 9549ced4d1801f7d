//! The HTTP edge: thin axum handlers, one file per resource, that turn
//! requests into service calls and answers. Every refusal is
//! `{"error":{"code","message"}}` with a stable code (`docs/protocol.md`
//! section 4), including malformed bodies, unknown paths and methods.
//!
//! Every answer carries the security headers (`system`); a request that
//! changes something with the session cookie must come from an allowed
//! `Origin` (`session`); costly or revealing requests are throttled
//! (`throttle`).
//!
//! # Layout
//! - [`auth`], [`catalog`], [`carts`], [`members`]: the API, by resource.
//! - [`orders`]: the checkout quote, placing orders, their status and payments.
//! - [`invitations`]: a cart's invitations and share links.
//! - [`sharing`]: using their tokens, password reset, the dev mailbox.
//! - [`staff`]: the store's owners and staff.
//! - [`offers`]: carts the staff send to customers, taken live or as a copy.
//! - [`store_api`]: the store API: API keys, catalog and customer sync, order export.
//! - [`store_shares`]: carts shoppers share with the store; the store's settings.
//! - [`analytics`]: the store owner's figures by day.
//! - [`takeover`], [`panel`]: the support desk's takeovers, help codes,
//!   history and cart panel.
//! - [`support`]: the support desk's conversations and their messages.
//! - [`system`]: health, metrics, the web client, security headers, unknown paths.
//! - [`extract`]: the extractors (JSON body, client address, session, cart access).
//! - [`session`]: tokens in headers and cookies; the Origin rule for cookies.
//! - [`throttle`]: request limits per client address and per user.
//! - [`error`]: the one error type, `AppError`.
//! - [`openapi`]: the OpenAPI document of the API, built from the handlers.

pub mod analytics;
pub mod auth;
pub mod carts;
pub mod catalog;
pub mod error;
pub mod extract;
pub mod invitations;
pub mod members;
pub mod offers;
pub mod openapi;
pub mod orders;
pub mod panel;
pub mod session;
pub mod sharing;
pub mod staff;
pub mod store_api;
pub mod store_shares;
pub mod support;
pub mod system;
pub mod takeover;
pub mod throttle;
pub mod webhooks;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::{Extension, Router, middleware};
use cartroom_protocol::limits::MAX_FRAME_BYTES;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;
use crate::ws;

/// The whole HTTP surface: API, WebSocket, health, metrics and the web client.
pub fn router(state: AppState) -> Router {
    // Every API route is registered with its OpenAPI description (openapi.rs).
    let (api, doc) = OpenApiRouter::with_openapi(openapi::base())
        .merge(auth::routes())
        .merge(catalog::routes())
        .merge(carts::routes())
        .merge(members::routes())
        .merge(orders::routes())
        .merge(sharing::routes(&state))
        .merge(invitations::routes())
        .merge(staff::routes())
        .merge(offers::routes())
        .merge(store_shares::routes())
        .merge(support::routes())
        .merge(takeover::routes())
        .merge(panel::routes())
        .merge(system::routes())
        .merge(openapi::routes())
        .merge(analytics::routes())
        .merge(store_api::routes(&state))
        .merge(webhooks::routes())
        .route("/ws", get(ws::handler))
        .split_for_parts();
    let api = api.method_not_allowed_fallback(system::method_not_allowed);
    let throttles = Arc::new(throttle::Throttles::new(&state.config));
    let sharing_throttles = Arc::new(sharing::SharingThrottles::new(&state.config));
    let app = system::with_web_client(api, &state.config.web_dir)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::check_cookie_origin,
        ))
        .layer(Extension(throttles))
        .layer(Extension(sharing_throttles))
        .layer(Extension(openapi::Document::new(doc)));
    system::with_security_headers(app)
        .layer(DefaultBodyLimit::max(MAX_FRAME_BYTES))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
