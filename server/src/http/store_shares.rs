//! `/api/store/settings` (what the store allows; owners change it),
//! `/api/carts/{id}/store-share` (a shopper shares the cart with the store)
//! and `/api/store/shared...` (the staff's "shared with us" list, and
//! opening a shared cart live).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Extension, Json, Router, extract::FromRequestParts};
use cartroom_protocol::ErrorCode;
use cartroom_protocol::store::{
    OpenSharedResponse, StoreSettings, StoreShare, StoreShareId, StoreShareRequest,
    StoreSharesResponse,
};

use super::error::AppError;
use super::extract::{AppJson, CartAccess, MayManageMembers, SignedIn, TheStore, path_param};
use super::throttle::Throttles;
use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/store/settings", get(settings).put(set_settings))
        .route("/api/carts/{id}/store-share", post(share))
        .route("/api/store/shared", get(list))
        .route("/api/store/shared/{share_id}/open", post(open))
}

/// The route's `{share_id}`; `not_found` when it is not one.
struct ShareId(StoreShareId);

impl<S: Send + Sync> FromRequestParts<S> for ShareId {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        path_param(parts, "share_id")
            .await?
            .and_then(|id| id.parse().ok())
            .map(Self)
            .ok_or_else(|| AppError::new(ErrorCode::NotFound, "no such shared cart"))
    }
}

async fn settings(
    State(state): State<AppState>,
    _signed_in: SignedIn,
    TheStore(store): TheStore,
) -> Result<Json<StoreSettings>, AppError> {
    Ok(Json(state.services.store_shares.settings(&store.id).await?))
}

async fn set_settings(
    State(state): State<AppState>,
    signed_in: SignedIn,
    TheStore(store): TheStore,
    AppJson(body): AppJson<StoreSettings>,
) -> Result<Json<StoreSettings>, AppError> {
    let settings = state
        .services
        .store_shares
        .set_settings(&store.id, signed_in.session.user.id, body)
        .await?;
    Ok(Json(settings))
}

async fn share(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<Throttles>>,
    access: CartAccess<MayManageMembers>,
    AppJson(body): AppJson<StoreShareRequest>,
) -> Result<(StatusCode, Json<StoreShare>), AppError> {
    // Each share e-mails the whole staff: counted like member additions.
    throttles.member_addition(access.signed_in.session.user.id)?;
    let share = state
        .services
        .store_shares
        .share(access.cart, &access.actor(), body)
        .await?;
    Ok((StatusCode::CREATED, Json(share)))
}

async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    TheStore(store): TheStore,
) -> Result<Json<StoreSharesResponse>, AppError> {
    let shared = state
        .services
        .store_shares
        .list(&store.id, signed_in.session.user.id)
        .await?;
    Ok(Json(StoreSharesResponse { shared }))
}

async fn open(
    State(state): State<AppState>,
    signed_in: SignedIn,
    TheStore(store): TheStore,
    ShareId(id): ShareId,
) -> Result<Json<OpenSharedResponse>, AppError> {
    let opened = state
        .services
        .store_shares
        .open(&store.id, &signed_in.actor(), id)
        .await?;
    Ok(Json(opened))
}
