//! `/api/carts/{id}/members...`: e-mail addresses only for those who manage
//! members; additions throttled per user (each one probes an e-mail).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, patch};
use axum::{Extension, Json, Router, extract::FromRequestParts};
use cartroom_protocol::http::{AddMemberRequest, Member, MembersResponse, RoleRequest};
use cartroom_protocol::{Capability, ErrorCode, UserId};

use super::error::AppError;
use super::extract::{AppJson, CartAccess, MayManageMembers, Member as AnyMember, path_param};
use super::throttle::Throttles;
use crate::app::AppState;
use crate::policy;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/carts/{id}/members", get(list).post(add))
        .route(
            "/api/carts/{id}/members/{user_id}",
            patch(change).delete(remove),
        )
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
