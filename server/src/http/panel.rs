//! The cart panel beside a conversation (`docs/protocol.md` section 13,
//! "Cart panel"): `GET /api/support/conversations/{id}/carts?lines=<n>`
//! and `GET /api/support/conversations/{id}/carts/{cart_id}/lines?offset=&limit=`,
//! for the staff of the conversation's store.

use axum::extract::State;
use axum::http::request::Parts;
use axum::{Json, extract::FromRequestParts};
use cartroom_protocol::http::ErrorBody;
use cartroom_protocol::takeover::{
    MAX_PANEL_LINES_PER_STORE, PANEL_DEFAULT_LINES, PanelLinesResponse, PanelResponse,
};
use cartroom_protocol::{CartId, ErrorCode};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::AppError;
use super::extract::{AppQuery, SignedIn, path_param};
use crate::app::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(panel))
        .routes(routes!(lines))
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PanelQuery {
    /// Lines shown of each cart (default 2, at most 250).
    lines: Option<usize>,
}

/// The cart panel beside a conversation (the store's staff).
#[utoipa::path(
    get,
    path = "/api/support/conversations/{id}/carts",
    tag = "support",
    params(("id" = String, Path, description = "The conversation (a uuid)"), PanelQuery),
    responses(
        (status = 200, description = "The customer's carts in each store of the caller's", body = PanelResponse),
        (status = 403, description = "`forbidden`: not the staff of the conversation's store", body = ErrorBody),
        (status = 404, description = "`not_found`: no such conversation", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct LinesQuery {
    /// Lines to skip (default 0).
    offset: Option<usize>,
    /// Lines to answer (default and at most 250).
    limit: Option<usize>,
}

/// More lines of one cart of the panel.
#[utoipa::path(
    get,
    path = "/api/support/conversations/{id}/carts/{cart_id}/lines",
    tag = "support",
    params(("id" = String, Path, description = "The conversation (a uuid)"), ("cart_id" = CartId, Path, description = "One of the customer's carts"), LinesQuery),
    responses(
        (status = 200, description = "A page of the cart's lines", body = PanelLinesResponse),
        (status = 403, description = "`forbidden`: not the staff of the conversation's store", body = ErrorBody),
        (status = 404, description = "`not_found` or `cart_not_found`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
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
