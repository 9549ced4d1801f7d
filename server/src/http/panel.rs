//! The cart panel beside a conversation (`docs/protocol.md` section 13,
//! "Cart panel"): `GET /api/support/conversations/{id}/carts?lines=<n>`
//! and `GET /api/support/conversations/{id}/carts/{cart_id}/lines?offset=&limit=`,
//! for the staff of the conversation's store.

use axum::extract::State;
use axum::http::request::Parts;
use axum::routing::get;
use axum::{Json, Router, extract::FromRequestParts};
use cartroom_protocol::takeover::{
    MAX_PANEL_LINES_PER_STORE, PANEL_DEFAULT_LINES, PanelLinesResponse, PanelResponse,
};
use cartroom_protocol::{CartId, ErrorCode};
use serde::Deserialize;

use super::error::AppError;
use super::extract::{AppQuery, SignedIn, path_param};
use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/support/conversations/{id}/carts", get(panel))
        .route(
            "/api/support/conversations/{id}/carts/{cart_id}/lines",
            get(lines),
        )
}

/// The route's conversation `{id}`, bounded; `not_found` when it is not an id.
struct PathConversation(String);

impl<S: Send + Sync> FromRequestParts<S> for PathConversation {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        path_param(parts, "id")
            .await?
            .filter(|id| id.parse::<uuid::Uuid>().is_ok())
            .map(Self)
            .ok_or_else(|| AppError::new(ErrorCode::NotFound, "no such conversation"))
    }
}

/// The route's `{cart_id}`; `cart_not_found` when it is not a cart id.
struct PathCart(CartId);

impl<S: Send + Sync> FromRequestParts<S> for PathCart {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        path_param(parts, "cart_id")
            .await?
            .and_then(|id| id.parse().ok())
            .map(Self)
            .ok_or_else(|| AppError::new(ErrorCode::CartNotFound, "this cart does not exist"))
    }
}

#[derive(Deserialize)]
struct PanelQuery {
    lines: Option<usize>,
}

async fn panel(
    State(state): State<AppState>,
    signed_in: SignedIn,
    PathConversation(conversation): PathConversation,
    AppQuery(query): AppQuery<PanelQuery>,
) -> Result<Json<PanelResponse>, AppError> {
    let lines = query.lines.unwrap_or(PANEL_DEFAULT_LINES);
    let panel = state
        .services
        .panel
        .panel(signed_in.session.user.id, &conversation, lines)
        .await?;
    Ok(Json(panel))
}

#[derive(Deserialize)]
struct LinesQuery {
    offset: Option<usize>,
    limit: Option<usize>,
}

async fn lines(
    State(state): State<AppState>,
    signed_in: SignedIn,
    PathConversation(conversation): PathConversation,
    PathCart(cart): PathCart,
    AppQuery(query): AppQuery<LinesQuery>,
) -> Result<Json<PanelLinesResponse>, AppError> {
    let page = state
        .services
        .panel
        .lines(
            signed_in.session.user.id,
            &conversation,
            cart,
            query.offset.unwrap_or(0),
            query.limit.unwrap_or(MAX_PANEL_LINES_PER_STORE),
        )
        .await?;
    Ok(Json(page))
}
