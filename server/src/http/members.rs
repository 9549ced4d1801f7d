//! `/api/carts/{id}/members...`: e-mail addresses only for those who manage
//! members; additions throttled per user (each one probes an e-mail).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::{Extension, Json, extract::FromRequestParts};
use cartroom_protocol::http::{AddMemberRequest, ErrorBody, Member, MembersResponse, RoleRequest};
use cartroom_protocol::{Capability, CartId, ErrorCode, UserId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::AppError;
use super::extract::{AppJson, CartAccess, MayManageMembers, Member as AnyMember, path_param};
use super::throttle::Throttles;
use crate::app::AppState;
use crate::policy;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, add))
        .routes(routes!(change, remove))
}

/// The member named by the route's `{user_id}`; `user_not_found` when it is
/// not a user id.
struct TargetUser(UserId);

impl<S: Send + Sync> FromRequestParts<S> for TargetUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        path_param(parts, "user_id")
            .await?
            .and_then(|id| id.parse().ok())
            .map(Self)
            .ok_or_else(|| AppError::new(ErrorCode::UserNotFound, "no such member"))
    }
}

/// The cart's members.
#[utoipa::path(
    get,
    path = "/api/carts/{id}/members",
    tag = "members",
    params(("id" = CartId, Path, description = "The cart")),
    responses(
        (status = 200, description = "The members; e-mails only for those who manage members", body = MembersResponse),
        (status = 404, description = "`cart_not_found`: no such cart, or the caller is not a member", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn list(
    State(state): State<AppState>,
    access: CartAccess<AnyMember>,
) -> Result<Json<MembersResponse>, AppError> {
    let members = state
        .services
        .members
        .list(access.cart, access.role)
        .await?;
    Ok(Json(MembersResponse { members }))
}

/// Adds a member by e-mail.
#[utoipa::path(
    post,
    path = "/api/carts/{id}/members",
    tag = "members",
    params(("id" = CartId, Path, description = "The cart")),
    request_body = AddMemberRequest,
    responses(
        (status = 201, description = "The new member", body = Member),
        (status = 403, description = "`forbidden`: the caller's role does not allow it", body = ErrorBody),
        (status = 404, description = "`cart_not_found`, or `user_not_found`: no account has that e-mail", body = ErrorBody),
        (status = 409, description = "`already_member` or `too_many`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn add(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<Throttles>>,
    access: CartAccess<MayManageMembers>,
    AppJson(body): AppJson<AddMemberRequest>,
) -> Result<(StatusCode, Json<Member>), AppError> {
    throttles.member_addition(access.signed_in.session.user.id)?;
    let member = state
        .services
        .members
        .add(access.cart, &access.actor(), &body.email, body.role)
        .await?;
    Ok((StatusCode::CREATED, Json(member)))
}

/// Changes a member's role.
#[utoipa::path(
    patch,
    path = "/api/carts/{id}/members/{user_id}",
    tag = "members",
    params(("id" = CartId, Path, description = "The cart"), ("user_id" = UserId, Path, description = "The member")),
    request_body = RoleRequest,
    responses(
        (status = 200, description = "The member with their new role", body = Member),
        (status = 403, description = "`forbidden`: the caller's role does not allow it", body = ErrorBody),
        (status = 404, description = "`cart_not_found` or `user_not_found`", body = ErrorBody),
        (status = 409, description = "`last_admin`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn change(
    State(state): State<AppState>,
    access: CartAccess<MayManageMembers>,
    TargetUser(user): TargetUser,
    AppJson(body): AppJson<RoleRequest>,
) -> Result<Json<Member>, AppError> {
    let member = state
        .services
        .members
        .set_role(access.cart, &access.actor(), user, body.role)
        .await?;
    Ok(Json(member))
}

/// Anyone may leave; only those who manage members remove others.
#[utoipa::path(
    delete,
    path = "/api/carts/{id}/members/{user_id}",
    tag = "members",
    params(("id" = CartId, Path, description = "The cart"), ("user_id" = UserId, Path, description = "The member")),
    responses(
        (status = 204, description = "Removed (or left)"),
        (status = 403, description = "`forbidden`: the caller's role does not allow it", body = ErrorBody),
        (status = 404, description = "`cart_not_found` or `user_not_found`", body = ErrorBody),
        (status = 409, description = "`last_admin`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn remove(
    State(state): State<AppState>,
    access: CartAccess<AnyMember>,
    TargetUser(user): TargetUser,
) -> Result<StatusCode, AppError> {
    let actor = access.actor();
    if user != actor.user_id {
        policy::check(access.role, Capability::ManageMembers)?;
    }
    state
        .services
        .members
        .remove(access.cart, &actor, user)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
