//! `/api/carts...`: create, list, read, edit, delete; the document's bytes
//! and its activity. Ops sent over HTTP are throttled per user, as a
//! WebSocket connection's are.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use bytes::Bytes;
use cartroom_protocol::http::{
    ActivityResponse, CartResponse, CartsResponse, CreateCartRequest, NameRequest, OpAck, OpRequest,
};
use serde::Deserialize;

use super::error::AppError;
use super::extract::{AppJson, AppQuery, CartAccess, MayDelete, MayRename, Member, SignedIn};
use super::throttle::Throttles;
use crate::app::AppState;
use crate::room::BytesKind;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/carts", post(create).get(list))
        .route("/api/carts/{id}", get(read).patch(rename).delete(delete))
        .route("/api/carts/{id}/ops", post(op))
        .route("/api/carts/{id}/document", get(document))
        .route("/api/carts/{id}/changes", get(changes))
        .route("/api/carts/{id}/activity", get(activity))
}

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

async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<CartsResponse>, AppError> {
    let carts = state.services.carts.list(&signed_in.actor()).await?;
    Ok(Json(CartsResponse { carts }))
}

async fn read(
    State(state): State<AppState>,
    access: CartAccess<Member>,
) -> Result<Json<CartResponse>, AppError> {
    Ok(Json(
        state.services.carts.get(access.cart, access.role).await?,
    ))
}

/// A `rename` op, throttled with the other ops.
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
        .rename(access.cart, access.actor(), access.role, body.name)
        .await?;
    Ok(Json(cart))
}

/// Any member may send an op; the room checks it against their role.
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

#[derive(Deserialize)]
struct ActivityQuery {
    limit: Option<usize>,
}

async fn activity(
    State(state): State<AppState>,
    access: CartAccess<Member>,
    AppQuery(query): AppQuery<ActivityQuery>,
) -> Result<Json<ActivityResponse>, AppError> {
    let limit = query.limit.unwrap_or(50);
    let activity = state.services.carts.activity(access.cart, limit).await?;
    Ok(Json(ActivityResponse { activity }))
}
