//! `/api/carts...`: create, list, read, edit, delete; the document's bytes
//! and its activity. Ops sent over HTTP are throttled per user, as a
//! WebSocket connection's are.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use cartroom_protocol::CartId;
use cartroom_protocol::http::{
    ActivityResponse, CartResponse, CartsResponse, CreateCartRequest, ErrorBody, NameRequest,
    OpAck, OpRequest,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::AppError;
use super::extract::{AppJson, AppQuery, CartAccess, MayDelete, MayRename, Member, SignedIn};
use super::throttle::Throttles;
use crate::app::AppState;
use crate::room::BytesKind;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(read, rename, delete))
        .routes(routes!(op))
        .routes(routes!(document))
        .routes(routes!(changes))
        .routes(routes!(activity))
}

/// Creates a cart.
#[utoipa::path(
    post,
    path = "/api/carts",
    tag = "carts",
    request_body = CreateCartRequest,
    responses(
        (status = 201, description = "The new cart; the caller is its admin", body = CartResponse),
        (status = 404, description = "`store_not_found`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn create(
    State(state): State<AppState>,
    signed_in: SignedIn,
    AppJson(body): AppJson<CreateCartRequest>,
) -> Result<(StatusCode, Json<CartResponse>), AppError> {
    let cart = state
        .services
        .carts
        .create(&signed_in.actor(), &body.name, body.store_id.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(cart)))
}

/// The carts the caller is a member of.
#[utoipa::path(
    get,
    path = "/api/carts",
    tag = "carts",
    responses((status = 200, description = "The caller's carts", body = CartsResponse)),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<CartsResponse>, AppError> {
    let carts = state.services.carts.list(&signed_in.actor()).await?;
    Ok(Json(CartsResponse { carts }))
}

/// A cart's JSON view and the caller's role in it.
#[utoipa::path(
    get,
    path = "/api/carts/{id}",
    tag = "carts",
    params(("id" = CartId, Path, description = "The cart")),
    responses(
        (status = 200, description = "The cart", body = CartResponse),
        (status = 404, description = "`cart_not_found`: no such cart, or the caller is not a member", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn read(
    State(state): State<AppState>,
    access: CartAccess<Member>,
) -> Result<Json<CartResponse>, AppError> {
    Ok(Json(
        state
            .services
            .carts
            .get(access.cart, access.reach())
            .await?,
    ))
}

/// A `rename` op, throttled with the other ops.
#[utoipa::path(
    patch,
    path = "/api/carts/{id}",
    tag = "carts",
    params(("id" = CartId, Path, description = "The cart")),
    request_body = NameRequest,
    responses(
        (status = 200, description = "The renamed cart", body = CartResponse),
        (status = 403, description = "`forbidden`: the caller's role does not allow it", body = ErrorBody),
        (status = 404, description = "`cart_not_found`: no such cart, or the caller is not a member", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn rename(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<Throttles>>,
    access: CartAccess<MayRename>,
    AppJson(body): AppJson<NameRequest>,
) -> Result<Json<CartResponse>, AppError> {
    throttles.op(access.signed_in.session.user.id)?;
    let cart = state
        .services
        .carts
        .rename(access.cart, access.reach(), body.name)
        .await?;
    Ok(Json(cart))
}

/// Any member may send an op; the room checks it against their role.
#[utoipa::path(
    post,
    path = "/api/carts/{id}/ops",
    tag = "carts",
    params(("id" = CartId, Path, description = "The cart")),
    request_body = OpRequest,
    responses(
        (status = 200, description = "The op is applied (or was, for a retry of the same `op_id`)", body = OpAck),
        (status = 400, description = "The op is refused: its code says why (docs/protocol.md section 8)", body = ErrorBody),
        (status = 403, description = "`forbidden`: the caller's role does not allow it", body = ErrorBody),
        (status = 404, description = "`cart_not_found`: no such cart, or the caller is not a member", body = ErrorBody),
        (status = 409, description = "`cart_locked` and the other checkout refusals", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn op(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<Throttles>>,
    access: CartAccess<Member>,
    AppJson(body): AppJson<OpRequest>,
) -> Result<Json<OpAck>, AppError> {
    throttles.op(access.signed_in.session.user.id)?;
    access.check_change()?;
    let ack = state
        .services
        .carts
        .run_op(
            access.cart,
            access.actor(),
            access.role,
            body.op_id,
            body.op,
        )
        .await?;
    Ok(Json(ack))
}

/// Deletes a cart.
#[utoipa::path(
    delete,
    path = "/api/carts/{id}",
    tag = "carts",
    params(("id" = CartId, Path, description = "The cart")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`forbidden`: the caller's role does not allow it", body = ErrorBody),
        (status = 404, description = "`cart_not_found`: no such cart, or the caller is not a member", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn delete(
    State(state): State<AppState>,
    access: CartAccess<MayDelete>,
) -> Result<StatusCode, AppError> {
    state.services.carts.delete(access.cart).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn octets(bytes: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}

/// The cart's Automerge document, saved whole.
#[utoipa::path(
    get,
    path = "/api/carts/{id}/document",
    tag = "carts",
    params(("id" = CartId, Path, description = "The cart")),
    responses(
        (status = 200, description = "The whole saved Automerge document", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 404, description = "`cart_not_found`: no such cart, or the caller is not a member", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn document(
    State(state): State<AppState>,
    access: CartAccess<Member>,
) -> Result<Response, AppError> {
    let bytes = state
        .services
        .carts
        .bytes(access.cart, BytesKind::Document)
        .await?;
    Ok(octets(bytes))
}

/// The cart's Automerge changes.
#[utoipa::path(
    get,
    path = "/api/carts/{id}/changes",
    tag = "carts",
    params(("id" = CartId, Path, description = "The cart")),
    responses(
        (status = 200, description = "Every Automerge change of the document", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 404, description = "`cart_not_found`: no such cart, or the caller is not a member", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn changes(
    State(state): State<AppState>,
    access: CartAccess<Member>,
) -> Result<Response, AppError> {
    let bytes = state
        .services
        .carts
        .bytes(access.cart, BytesKind::Changes)
        .await?;
    Ok(octets(bytes))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ActivityQuery {
    /// How many of the latest entries: 1 to 200 (default 50).
    limit: Option<usize>,
}

/// The cart's activity feed.
#[utoipa::path(
    get,
    path = "/api/carts/{id}/activity",
    tag = "carts",
    params(("id" = CartId, Path, description = "The cart"), ActivityQuery),
    responses(
        (status = 200, description = "The cart's latest activity, oldest first", body = ActivityResponse),
        (status = 404, description = "`cart_not_found`: no such cart, or the caller is not a member", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn activity(
    State(state): State<AppState>,
    access: CartAccess<Member>,
    AppQuery(query): AppQuery<ActivityQuery>,
) -> Result<Json<ActivityResponse>, AppError> {
    let limit = query.limit.unwrap_or(50);
    let activity = state.services.carts.activity(access.cart, limit).await?;
    Ok(Json(ActivityResponse { activity }))
}
