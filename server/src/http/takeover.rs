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
use axum::routing::{get, post};
use axum::{Extension, Json, Router, extract::FromRequestParts};
use cartroom_protocol::ErrorCode;
use cartroom_protocol::takeover::{
    ConsentRequest, HelpCodeResponse, HistoryResponse, OpenTakeoverResponse, StartTakeoverRequest,
    Takeover, TakeoverId,
};
use serde::Deserialize;

use super::error::AppError;
use super::extract::{AppJson, AppQuery, CartAccess, Member, SignedIn, path_param};
use super::throttle::Throttles;
use crate::app::AppState;
use crate::services::history::{Moment, history};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/support/takeovers", post(start))
        .route("/api/takeovers/{id}", get(read))
        .route("/api/takeovers/{id}/consent", post(consent))
        .route("/api/takeovers/{id}/end", post(end))
        .route("/api/carts/{id}/help-code", post(help_code))
        .route("/api/carts/{id}/takeover", get(open))
        .route("/api/carts/{id}/history", get(cart_history))
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

async fn end(
    State(state): State<AppState>,
    signed_in: SignedIn,
    PathTakeover(id): PathTakeover,
) -> Result<Json<Takeover>, AppError> {
    let takeover = state.services.takeovers.end(&signed_in.actor(), id).await?;
    Ok(Json(takeover))
}

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

async fn open(
    State(state): State<AppState>,
    access: CartAccess<Member>,
) -> Result<Json<OpenTakeoverResponse>, AppError> {
    let takeover = state.services.takeovers.open_of(access.cart).await?;
    Ok(Json(OpenTakeoverResponse { takeover }))
}

#[derive(Deserialize)]
struct HistoryQuery {
    at: Option<i64>,
    heads: Option<String>,
}

async fn cart_history(
    State(state): State<AppState>,
    access: CartAccess<Member>,
    AppQuery(query): AppQuery<HistoryQuery>,
) -> Result<Json<HistoryResponse>, AppError> {
    let moment = Moment::parse(query.at, query.heads.as_deref())?;
    let answer = history(&state.services.carts, access.cart, moment).await?;
    Ok(Json(answer))
}
