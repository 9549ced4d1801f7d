//! `/api/carts/{id}/offers` (the store's staff send a cart to a customer;
//! the cart's admins see each offer's status) and `/api/offers/...` (the
//! customer looks the token up and takes the cart live or as a copy). Token
//! attempts share the per-address limit of invitations and links.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use cartroom_protocol::merchant::{
    Offer, OfferAcceptRequest, OfferAcceptResponse, OfferPreview, OfferRequest, OffersResponse,
};
use cartroom_protocol::sharing::TokenRequest;

use super::error::AppError;
use super::extract::{AppJson, CartAccess, ClientAddr, MayManageMembers, SignedIn};
use super::sharing::SharingThrottles;
use super::throttle::Throttles;
use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/carts/{id}/offers", get(list).post(send))
        .route("/api/offers/lookup", post(lookup))
        .route("/api/offers/accept", post(accept))
}

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

async fn list(
    State(state): State<AppState>,
    access: CartAccess<MayManageMembers>,
) -> Result<Json<OffersResponse>, AppError> {
    let offers = state.services.offers.list(access.cart).await?;
    Ok(Json(OffersResponse { offers }))
}

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
