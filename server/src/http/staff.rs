//! `/api/store/staff` (the store's owners manage its staff) and
//! `/api/store/role` (anyone signed in: their own role in the store).
//! Additions are throttled per user like member additions: each one probes
//! an e-mail.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::{Extension, Json, extract::FromRequestParts};
use cartroom_protocol::http::ErrorBody;
use cartroom_protocol::store::{
    AddStaffRequest, StaffMember, StaffResponse, StoreRole, StoreRoleResponse,
};
use cartroom_protocol::{ErrorCode, UserId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::AppError;
use super::extract::{AppJson, SignedIn, StoreQuery, TheStore, path_param};
use super::throttle::Throttles;
use crate::app::AppState;
use crate::store::StaffAccess;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(role))
        .routes(routes!(list, add))
        .routes(routes!(remove))
}

/// The route's `{user_id}`; `not_found` when it is not a user id.
struct StaffUser(UserId);

impl<S: Send + Sync> FromRequestParts<S> for StaffUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        path_param(parts, "user_id")
            .await?
            .and_then(|id| id.parse().ok())
            .map(Self)
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::NotFound,
                    "this person is not on the store's staff",
                )
            })
    }
}

/// The caller's own role in the store.
#[utoipa::path(
    get,
    path = "/api/store/role",
    tag = "staff",
    params(StoreQuery),
    responses(
        (status = 200, description = "The caller's role in the store (`null`: none)", body = StoreRoleResponse),
        (status = 404, description = "`store_not_found`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn role(
    State(state): State<AppState>,
    signed_in: SignedIn,
    TheStore(store): TheStore,
) -> Result<Json<StoreRoleResponse>, AppError> {
    let access = state
        .services
        .staff
        .role_of(&store.id, signed_in.session.user.id)
        .await?;
    Ok(Json(StoreRoleResponse {
        store_id: store.id,
        role: access.map(|a| a.role),
        customer_update: access.is_some_and(|a| a.may_update_customers()),
    }))
}

/// The store's staff (its owners).
#[utoipa::path(
    get,
    path = "/api/store/staff",
    tag = "staff",
    params(StoreQuery),
    responses(
        (status = 200, description = "The store's owners and agents", body = StaffResponse),
        (status = 403, description = "`forbidden`: not the store's owner", body = ErrorBody),
        (status = 404, description = "`store_not_found`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    TheStore(store): TheStore,
) -> Result<Json<StaffResponse>, AppError> {
    let staff = state
        .services
        .staff
        .list(&store.id, signed_in.session.user.id)
        .await?;
    Ok(Json(StaffResponse { staff }))
}

/// Adds an owner or agent by e-mail (the store's owners).
#[utoipa::path(
    post,
    path = "/api/store/staff",
    tag = "staff",
    params(StoreQuery),
    request_body = AddStaffRequest,
    responses(
        (status = 201, description = "The new staff member", body = StaffMember),
        (status = 403, description = "`forbidden`: not the store's owner", body = ErrorBody),
        (status = 404, description = "`store_not_found` or `user_not_found`", body = ErrorBody),
        (status = 409, description = "`already_staff`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn add(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<Throttles>>,
    signed_in: SignedIn,
    TheStore(store): TheStore,
    AppJson(body): AppJson<AddStaffRequest>,
) -> Result<(StatusCode, Json<StaffMember>), AppError> {
    let caller = signed_in.session.user.id;
    throttles.member_addition(caller)?;
    let access = StaffAccess {
        role: body.role.unwrap_or(StoreRole::Agent),
        customer_update: body.customer_update,
    };
    let member = state
        .services
        .staff
        .add(&store.id, caller, &body.email, access)
        .await?;
    Ok((StatusCode::CREATED, Json(member)))
}

/// Removes someone from the store's staff (the store's owners).
#[utoipa::path(
    delete,
    path = "/api/store/staff/{user_id}",
    tag = "staff",
    params(("user_id" = UserId, Path, description = "The staff member"), StoreQuery),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "`forbidden`: not the store's owner", body = ErrorBody),
        (status = 404, description = "`store_not_found` or `not_found`", body = ErrorBody),
        (status = 409, description = "`last_owner`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn remove(
    State(state): State<AppState>,
    signed_in: SignedIn,
    TheStore(store): TheStore,
    StaffUser(user): StaffUser,
) -> Result<StatusCode, AppError> {
    state
        .services
        .staff
        .remove(&store.id, signed_in.session.user.id, user)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
