//! `/api/carts/{id}/offers` (the store's staff send a cart to a customer;
//! the cart's admins see each offer's status) and `/api/offers/...` (the
//! customer looks the token up and takes the cart live or as a copy). Token
//! attempts share the per-address limit of invitations and links.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use cartroom_protocol::CartId;
use cartroom_protocol::http::ErrorBody;
use cartroom_protocol::merchant::{
    Offer, OfferAcceptRequest, OfferAcceptResponse, OfferPreview, OfferRequest, OffersResponse,
};
use cartroom_protocol::sharing::TokenRequest;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::AppError;
use super::extract::{AppJson, CartAccess, ClientAddr, MayManageMembers, SignedIn};
use super::sharing::SharingThrottles;
use super::throttle::Throttles;
use crate::app::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, send))
        .routes(routes!(lookup))
        .routes(routes!(accept))
}

/// Sends the cart to a customer by e-mail (the store's staff).
#[utoipa::path(
    post,
    path = "/api/carts/{id}/offers",
    tag = "offers",
    params(("id" = CartId, Path, description = "The cart")),
    request_body = OfferRequest,
    responses(
        (status = 201, description = "The offer, e-mailed to the customer", body = Offer),
        (status = 403, description = "`forbidden`: the caller's role does not allow it", body = ErrorBody),
        (status = 404, description = "`cart_not_found`: no such cart, or the caller is not a member", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn send(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<Throttles>>,
    access: CartAccess<MayManageMembers>,
    AppJson(body): AppJson<OfferRequest>,
) -> Result<(StatusCode, Json<Offer>), AppError> {
    throttles.member_addition(access.signed_in.session.user.id)?;
    let offer = state
        .services
        .offers
        .send(access.cart, &access.actor(), body)
        .await?;
    Ok((StatusCode::CREATED, Json(offer)))
}

/// The offers sent of this cart.
#[utoipa::path(
    get,
    path = "/api/carts/{id}/offers",
    tag = "offers",
    params(("id" = CartId, Path, description = "The cart")),
    responses(
        (status = 200, description = "The cart's offers", body = OffersResponse),
        (status = 403, description = "`forbidden`: the caller's role does not allow it", body = ErrorBody),
        (status = 404, description = "`cart_not_found`: no such cart, or the caller is not a member", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn list(
    State(state): State<AppState>,
    access: CartAccess<MayManageMembers>,
) -> Result<Json<OffersResponse>, AppError> {
    let offers = state.services.offers.list(access.cart).await?;
    Ok(Json(OffersResponse { offers }))
}

/// What an offer's token offers, without taking it.
#[utoipa::path(
    post,
    path = "/api/offers/lookup",
    tag = "offers",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "What the token offers", body = OfferPreview),
        (status = 404, description = "`invite_not_found`: no offer has that token", body = ErrorBody),
        (status = 410, description = "`invite_expired`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many token attempts from this address", body = ErrorBody),
    ),
)]
async fn lookup(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<SharingThrottles>>,
    ClientAddr(client): ClientAddr,
    AppJson(body): AppJson<TokenRequest>,
) -> Result<Json<OfferPreview>, AppError> {
    throttles.token_attempt(&client)?;
    Ok(Json(state.services.offers.preview(&body.token).await?))
}

/// Takes the offer as the signed-in user (an account or a guest).
#[utoipa::path(
    post,
    path = "/api/offers/accept",
    tag = "offers",
    request_body = OfferAcceptRequest,
    responses(
        (status = 200, description = "The cart the caller now has", body = OfferAcceptResponse),
        (status = 404, description = "`invite_not_found`: no offer has that token", body = ErrorBody),
        (status = 409, description = "`invite_used_up`: taken the other way or by someone else", body = ErrorBody),
        (status = 410, description = "`invite_expired`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn accept(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<SharingThrottles>>,
    ClientAddr(client): ClientAddr,
    signed_in: SignedIn,
    AppJson(body): AppJson<OfferAcceptRequest>,
) -> Result<Json<OfferAcceptResponse>, AppError> {
    throttles.token_attempt(&client)?;
    let answer = state
        .services
        .offers
        .accept(&body.token, &signed_in.actor(), body.mode)
        .await?;
    Ok(Json(answer))
}
