//! `/api/store/settings` (what the store allows; owners change it),
//! `/api/carts/{id}/store-share` (a shopper shares the cart with the store)
//! and `/api/store/shared...` (the staff's "shared with us" list, and
//! opening a shared cart live).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::{Extension, Json, extract::FromRequestParts};
use cartroom_protocol::http::ErrorBody;
use cartroom_protocol::store::{
    OpenSharedResponse, StoreSettings, StoreShare, StoreShareId, StoreShareRequest,
    StoreSharesResponse,
};
use cartroom_protocol::{CartId, ErrorCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::AppError;
use super::extract::{
    AppJson, CartAccess, MayManageMembers, SignedIn, StoreQuery, TheStore, path_param,
};
use super::throttle::Throttles;
use crate::app::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(settings, set_settings))
        .routes(routes!(share))
        .routes(routes!(list))
        .routes(routes!(open))
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

/// What the store allows its staff and shoppers.
#[utoipa::path(
    get,
    path = "/api/store/settings",
    tag = "store shares",
    params(StoreQuery),
    responses(
        (status = 200, description = "What the store allows", body = StoreSettings),
        (status = 404, description = "`store_not_found`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn settings(
    State(state): State<AppState>,
    _signed_in: SignedIn,
    TheStore(store): TheStore,
) -> Result<Json<StoreSettings>, AppError> {
    Ok(Json(state.services.store_shares.settings(&store.id).await?))
}

/// Changes the store's settings (its owners).
#[utoipa::path(
    put,
    path = "/api/store/settings",
    tag = "store shares",
    params(StoreQuery),
    request_body = StoreSettings,
    responses(
        (status = 200, description = "The new settings", body = StoreSettings),
        (status = 403, description = "`forbidden`: not the store's owner", body = ErrorBody),
        (status = 404, description = "`store_not_found`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
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

/// Shares the cart with its store's staff.
#[utoipa::path(
    post,
    path = "/api/carts/{id}/store-share",
    tag = "store shares",
    params(("id" = CartId, Path, description = "The cart")),
    request_body = StoreShareRequest,
    responses(
        (status = 201, description = "The cart is shared with its store's staff", body = StoreShare),
        (status = 403, description = "`forbidden`: the caller's role does not allow it", body = ErrorBody),
        (status = 404, description = "`cart_not_found`: no such cart, or the caller is not a member", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
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

/// The carts shoppers shared with the store (its staff).
#[utoipa::path(
    get,
    path = "/api/store/shared",
    tag = "store shares",
    params(StoreQuery),
    responses(
        (status = 200, description = "The carts shared with the store", body = StoreSharesResponse),
        (status = 403, description = "`forbidden`: not the store's staff", body = ErrorBody),
        (status = 404, description = "`store_not_found`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
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

/// Opens a shared cart live (the store's staff).
#[utoipa::path(
    post,
    path = "/api/store/shared/{share_id}/open",
    tag = "store shares",
    params(("share_id" = StoreShareId, Path, description = "The shared cart"), StoreQuery),
    responses(
        (status = 200, description = "The caller joined the shared cart", body = OpenSharedResponse),
        (status = 403, description = "`forbidden`: not the store's staff", body = ErrorBody),
        (status = 404, description = "`store_not_found` or `not_found`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
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
