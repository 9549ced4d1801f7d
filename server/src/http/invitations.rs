//! A cart's invitations and share links, for its admins
//! (`docs/protocol.md` section 11); whoever holds a token uses it in
//! [`super::sharing`]. Invitations (each sends an e-mail) count against the
//! member additions of their admin.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::{Extension, Json, extract::FromRequestParts};
use cartroom_protocol::http::ErrorBody;
use cartroom_protocol::sharing::{
    CreatedLink, Invitation, InvitationId, InvitationsResponse, InviteRequest, LinkId, LinkRequest,
    LinksResponse, ShareLink,
};
use cartroom_protocol::{CartId, ErrorCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::AppError;
use super::extract::{AppJson, CartAccess, MayManageMembers, path_param};
use super::throttle::Throttles;
use crate::app::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_invitations, invite))
        .routes(routes!(revoke_invitation))
        .routes(routes!(resend_invitation))
        .routes(routes!(list_links, create_link))
        .routes(routes!(revoke_link))
}

/// The route's `{name}` parsed as `T`; `not_found` when it is not one.
struct Target<T>(T);

trait TargetParam: std::str::FromStr {
    const PARAM: &'static str;
    const WHAT: &'static str;
}

impl TargetParam for InvitationId {
    const PARAM: &'static str = "invitation_id";
    const WHAT: &'static str = "no such invitation";
}

impl TargetParam for LinkId {
    const PARAM: &'static str = "link_id";
    const WHAT: &'static str = "no such share link";
}

impl<T: TargetParam + Send, S: Send + Sync> FromRequestParts<S> for Target<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        path_param(parts, T::PARAM)
            .await?
            .and_then(|id| id.parse().ok())
            .map(Self)
            .ok_or_else(|| AppError::new(ErrorCode::NotFound, T::WHAT))
    }
}

/// Invites someone to the cart by e-mail.
#[utoipa::path(
    post,
    path = "/api/carts/{id}/invitations",
    tag = "sharing",
    params(("id" = CartId, Path, description = "The cart")),
    request_body = InviteRequest,
    responses(
        (status = 201, description = "The invitation, e-mailed", body = Invitation),
        (status = 403, description = "`forbidden`: the caller's role does not allow it", body = ErrorBody),
        (status = 404, description = "`cart_not_found`: no such cart, or the caller is not a member", body = ErrorBody),
        (status = 409, description = "`too_many` open invitations", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn invite(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<Throttles>>,
    access: CartAccess<MayManageMembers>,
    AppJson(body): AppJson<InviteRequest>,
) -> Result<(StatusCode, Json<Invitation>), AppError> {
    throttles.member_addition(access.signed_in.session.user.id)?;
    let invitation = state
        .services
        .sharing
        .invite(access.cart, &access.actor(), body)
        .await?;
    Ok((StatusCode::CREATED, Json(invitation)))
}

/// The cart's invitations.
#[utoipa::path(
    get,
    path = "/api/carts/{id}/invitations",
    tag = "sharing",
    params(("id" = CartId, Path, description = "The cart")),
    responses(
        (status = 200, description = "The cart's invitations", body = InvitationsResponse),
        (status = 403, description = "`forbidden`: the caller's role does not allow it", body = ErrorBody),
        (status = 404, description = "`cart_not_found`: no such cart, or the caller is not a member", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn list_invitations(
    State(state): State<AppState>,
    access: CartAccess<MayManageMembers>,
) -> Result<Json<InvitationsResponse>, AppError> {
    let invitations = state.services.sharing.invitations(access.cart).await?;
    Ok(Json(InvitationsResponse { invitations }))
}

/// Sends an open invitation's e-mail again.
#[utoipa::path(
    post,
    path = "/api/carts/{id}/invitations/{invitation_id}/resend",
    tag = "sharing",
    params(("id" = CartId, Path, description = "The cart"), ("invitation_id" = InvitationId, Path, description = "The invitation")),
    responses(
        (status = 200, description = "The invitation, e-mailed again", body = Invitation),
        (status = 403, description = "`forbidden`: the caller's role does not allow it", body = ErrorBody),
        (status = 404, description = "`cart_not_found` or `not_found`", body = ErrorBody),
        (status = 410, description = "`invite_expired` or `invite_revoked`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn resend_invitation(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<Throttles>>,
    access: CartAccess<MayManageMembers>,
    Target(id): Target<InvitationId>,
) -> Result<Json<Invitation>, AppError> {
    throttles.member_addition(access.signed_in.session.user.id)?;
    let invitation = state
        .services
        .sharing
        .resend(access.cart, &access.actor(), id)
        .await?;
    Ok(Json(invitation))
}

/// Revokes an invitation.
#[utoipa::path(
    delete,
    path = "/api/carts/{id}/invitations/{invitation_id}",
    tag = "sharing",
    params(("id" = CartId, Path, description = "The cart"), ("invitation_id" = InvitationId, Path, description = "The invitation")),
    responses(
        (status = 200, description = "The revoked invitation", body = Invitation),
        (status = 403, description = "`forbidden`: the caller's role does not allow it", body = ErrorBody),
        (status = 404, description = "`cart_not_found` or `not_found`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn revoke_invitation(
    State(state): State<AppState>,
    access: CartAccess<MayManageMembers>,
    Target(id): Target<InvitationId>,
) -> Result<Json<Invitation>, AppError> {
    let invitation = state
        .services
        .sharing
        .revoke(access.cart, &access.actor(), id)
        .await?;
    Ok(Json(invitation))
}

/// Creates a share link.
#[utoipa::path(
    post,
    path = "/api/carts/{id}/links",
    tag = "sharing",
    params(("id" = CartId, Path, description = "The cart")),
    request_body = LinkRequest,
    responses(
        (status = 201, description = "The link and its token, shown once", body = CreatedLink),
        (status = 403, description = "`forbidden`: the caller's role does not allow it", body = ErrorBody),
        (status = 404, description = "`cart_not_found`: no such cart, or the caller is not a member", body = ErrorBody),
        (status = 409, description = "`too_many` open links", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn create_link(
    State(state): State<AppState>,
    access: CartAccess<MayManageMembers>,
    AppJson(body): AppJson<LinkRequest>,
) -> Result<(StatusCode, Json<CreatedLink>), AppError> {
    let link = state
        .services
        .sharing
        .create_link(access.cart, &access.actor(), body)
        .await?;
    Ok((StatusCode::CREATED, Json(link)))
}

/// The cart's share links.
#[utoipa::path(
    get,
    path = "/api/carts/{id}/links",
    tag = "sharing",
    params(("id" = CartId, Path, description = "The cart")),
    responses(
        (status = 200, description = "The cart's share links", body = LinksResponse),
        (status = 403, description = "`forbidden`: the caller's role does not allow it", body = ErrorBody),
        (status = 404, description = "`cart_not_found`: no such cart, or the caller is not a member", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn list_links(
    State(state): State<AppState>,
    access: CartAccess<MayManageMembers>,
) -> Result<Json<LinksResponse>, AppError> {
    let links = state.services.sharing.links(access.cart).await?;
    Ok(Json(LinksResponse { links }))
}

/// Revokes a share link.
#[utoipa::path(
    delete,
    path = "/api/carts/{id}/links/{link_id}",
    tag = "sharing",
    params(("id" = CartId, Path, description = "The cart"), ("link_id" = LinkId, Path, description = "The share link")),
    responses(
        (status = 200, description = "The revoked link", body = ShareLink),
        (status = 403, description = "`forbidden`: the caller's role does not allow it", body = ErrorBody),
        (status = 404, description = "`cart_not_found` or `not_found`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn revoke_link(
    State(state): State<AppState>,
    access: CartAccess<MayManageMembers>,
    Target(id): Target<LinkId>,
) -> Result<Json<ShareLink>, AppError> {
    let link = state
        .services
        .sharing
        .revoke_link(access.cart, &access.actor(), id)
        .await?;
    Ok(Json(link))
}
