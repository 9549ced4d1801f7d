//! Takeovers, help codes and history (`docs/protocol.md` section 13,
//! "Takeover", "History"):
//! - `POST /api/support/takeovers` (an agent: a cart, or a help code);
//! - `GET /api/takeovers/{id}`, `POST /api/takeovers/{id}/consent`,
//!   `POST /api/takeovers/{id}/end` (its shopper or its agent);
//! - `POST /api/carts/{id}/help-code` (a member), `GET /api/carts/{id}/takeover`
//!   and `GET /api/carts/{id}/history` (members and the staff watching it).
//!
//! Requests with a help code share the per-user budget of member
//! additions: each one probes a code.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::{Extension, Json, extract::FromRequestParts};
use cartroom_protocol::http::ErrorBody;
use cartroom_protocol::takeover::{
    ConsentRequest, HelpCodeResponse, HistoryResponse, OpenTakeoverResponse, StartTakeoverRequest,
    Takeover, TakeoverId,
};
use cartroom_protocol::{CartId, ErrorCode};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::AppError;
use super::extract::{AppJson, AppQuery, CartAccess, Member, SignedIn, path_param};
use super::throttle::Throttles;
use crate::app::AppState;
use crate::services::history::{Moment, history};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start))
        .routes(routes!(read))
        .routes(routes!(consent))
        .routes(routes!(end))
        .routes(routes!(help_code))
        .routes(routes!(open))
        .routes(routes!(cart_history))
}

/// The route's `{id}` as a takeover id; `not_found` when it is not one.
struct PathTakeover(TakeoverId);

impl<S: Send + Sync> FromRequestParts<S> for PathTakeover {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        path_param(parts, "id")
            .await?
            .and_then(|id| id.parse().ok())
            .map(Self)
            .ok_or_else(|| AppError::new(ErrorCode::NotFound, "no such takeover"))
    }
}

/// Starts a takeover of a shopper's cart (an agent: by cart or help code).
#[utoipa::path(
    post,
    path = "/api/support/takeovers",
    tag = "takeover",
    request_body = StartTakeoverRequest,
    responses(
        (status = 201, description = "The takeover, waiting for the shopper's consent (or granted, as the store's settings say)", body = Takeover),
        (status = 403, description = "`forbidden`: not an agent of the cart's store", body = ErrorBody),
        (status = 404, description = "`cart_not_found` or `help_code_invalid`", body = ErrorBody),
        (status = 409, description = "`takeover_in_progress`", body = ErrorBody),
        (status = 410, description = "`help_code_expired`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn start(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<Throttles>>,
    signed_in: SignedIn,
    AppJson(body): AppJson<StartTakeoverRequest>,
) -> Result<(StatusCode, Json<Takeover>), AppError> {
    if body.code.is_some() {
        throttles.member_addition(signed_in.session.user.id)?;
    }
    let takeover = state
        .services
        .takeovers
        .start(&signed_in.actor(), body)
        .await?;
    Ok((StatusCode::CREATED, Json(takeover)))
}

/// One takeover (its shopper or its agent).
#[utoipa::path(
    get,
    path = "/api/takeovers/{id}",
    tag = "takeover",
    params(("id" = TakeoverId, Path, description = "The takeover")),
    responses(
        (status = 200, description = "The takeover", body = Takeover),
        (status = 404, description = "`not_found`: no such takeover, or not the caller's", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn read(
    State(state): State<AppState>,
    signed_in: SignedIn,
    PathTakeover(id): PathTakeover,
) -> Result<Json<Takeover>, AppError> {
    let takeover = state
        .services
        .takeovers
        .visible(id, signed_in.session.user.id)
        .await?;
    Ok(Json(takeover))
}

/// The shopper grants or refuses a takeover.
#[utoipa::path(
    post,
    path = "/api/takeovers/{id}/consent",
    tag = "takeover",
    params(("id" = TakeoverId, Path, description = "The takeover")),
    request_body = ConsentRequest,
    responses(
        (status = 200, description = "The takeover, granted or refused", body = Takeover),
        (status = 403, description = "`forbidden`: not the cart's shopper", body = ErrorBody),
        (status = 404, description = "`not_found`: no such takeover, or not the caller's", body = ErrorBody),
        (status = 409, description = "`takeover_state`: the takeover is past that", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn consent(
    State(state): State<AppState>,
    signed_in: SignedIn,
    PathTakeover(id): PathTakeover,
    AppJson(body): AppJson<ConsentRequest>,
) -> Result<Json<Takeover>, AppError> {
    let takeover = state
        .services
        .takeovers
        .consent(&signed_in.actor(), id, body.accept)
        .await?;
    Ok(Json(takeover))
}

/// Ends a takeover (its shopper or its agent).
#[utoipa::path(
    post,
    path = "/api/takeovers/{id}/end",
    tag = "takeover",
    params(("id" = TakeoverId, Path, description = "The takeover")),
    responses(
        (status = 200, description = "The ended takeover", body = Takeover),
        (status = 404, description = "`not_found`: no such takeover, or not the caller's", body = ErrorBody),
        (status = 409, description = "`takeover_state`: the takeover is past that", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn end(
    State(state): State<AppState>,
    signed_in: SignedIn,
    PathTakeover(id): PathTakeover,
) -> Result<Json<Takeover>, AppError> {
    let takeover = state.services.takeovers.end(&signed_in.actor(), id).await?;
    Ok(Json(takeover))
}

/// A help code for the cart, to give an agent.
#[utoipa::path(
    post,
    path = "/api/carts/{id}/help-code",
    tag = "takeover",
    params(("id" = CartId, Path, description = "The cart")),
    responses(
        (status = 201, description = "A short-lived code to read to an agent", body = HelpCodeResponse),
        (status = 404, description = "`cart_not_found`: no such cart, or the caller is not a member", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn help_code(
    State(state): State<AppState>,
    access: CartAccess<Member>,
) -> Result<(StatusCode, Json<HelpCodeResponse>), AppError> {
    let code = state
        .services
        .takeovers
        .help_code(access.cart, &access.signed_in.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(code)))
}

/// The cart's open takeover.
#[utoipa::path(
    get,
    path = "/api/carts/{id}/takeover",
    tag = "takeover",
    params(("id" = CartId, Path, description = "The cart")),
    responses(
        (status = 200, description = "The cart's open takeover, if any", body = OpenTakeoverResponse),
        (status = 404, description = "`cart_not_found`: no such cart, or the caller is not a member", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn open(
    State(state): State<AppState>,
    access: CartAccess<Member>,
) -> Result<Json<OpenTakeoverResponse>, AppError> {
    let takeover = state.services.takeovers.open_of(access.cart).await?;
    Ok(Json(OpenTakeoverResponse { takeover }))
}

/// Exactly one of the two.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    /// A moment, Unix ms.
    at: Option<i64>,
    /// The document's heads then: comma-separated 64-digit hex change hashes.
    heads: Option<String>,
}

/// The cart at a moment of its past.
#[utoipa::path(
    get,
    path = "/api/carts/{id}/history",
    tag = "takeover",
    params(("id" = CartId, Path, description = "The cart"), HistoryQuery),
    responses(
        (status = 200, description = "The cart as it was then, and the changes up to then", body = HistoryResponse),
        (status = 400, description = "`invalid_field`: not exactly one of `at` and `heads`, or bad heads", body = ErrorBody),
        (status = 404, description = "`cart_not_found`: no such cart, or the caller is not a member", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn cart_history(
    State(state): State<AppState>,
    access: CartAccess<Member>,
    AppQuery(query): AppQuery<HistoryQuery>,
) -> Result<Json<HistoryResponse>, AppError> {
    let moment = Moment::parse(query.at, query.heads.as_deref())?;
    let answer = history(&state.services.carts, access.cart, moment).await?;
    Ok(Json(answer))
}
