//! Checkout and orders: `/api/carts/{id}/checkout` (the quote),
//! `/api/carts/{id}/order` (place it), `/api/carts/{id}/orders`, and
//! `/api/orders/{order_id}...` for an order's status and payments;
//! `/api/store/orders` for the store's staff. Placing an order is
//! throttled with the ops.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Extension, Json, Router, extract::FromRequestParts};
use cartroom_protocol::checkout::{
    CheckoutQuote, OrderStatusRequest, OrderView, OrdersResponse, PlaceOrderRequest,
};
use cartroom_protocol::{ErrorCode, UserId};

use super::error::AppError;
use super::extract::{AppJson, CartAccess, MayCheckout, Member, SignedIn, TheStore, path_param};
use super::throttle::Throttles;
use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/carts/{id}/checkout", get(quote))
        .route("/api/carts/{id}/order", post(place))
        .route("/api/carts/{id}/orders", get(cart_orders))
        .route("/api/store/orders", get(store_orders))
        .route("/api/orders/{order_id}", get(order))
        .route("/api/orders/{order_id}/status", post(status))
        .route("/api/orders/{order_id}/shares/{user_id}/paid", post(paid))
}

/// The route's `{order_id}`.
struct OrderId(String);

impl<S: Send + Sync> FromRequestParts<S> for OrderId {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        path_param(parts, "order_id")
            .await?
            .filter(|id| id.len() <= 64)
            .map(Self)
            .ok_or_else(|| AppError::new(ErrorCode::OrderNotFound, "no such order"))
    }
}

/// The route's `{user_id}`.
struct ShareUser(UserId);

impl<S: Send + Sync> FromRequestParts<S> for ShareUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        path_param(parts, "user_id")
            .await?
            .and_then(|id| id.parse().ok())
            .map(Self)
            .ok_or_else(|| AppError::new(ErrorCode::UserNotFound, "no such payer"))
    }
}

async fn quote(
    State(state): State<AppState>,
    access: CartAccess<Member>,
) -> Result<Json<CheckoutQuote>, AppError> {
    Ok(Json(state.services.checkout.quote(access.cart).await?))
}

async fn place(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<Throttles>>,
    access: CartAccess<MayCheckout>,
    AppJson(body): AppJson<PlaceOrderRequest>,
) -> Result<(StatusCode, Json<OrderView>), AppError> {
    throttles.op(access.signed_in.session.user.id)?;
    let order = state
        .services
        .checkout
        .place(access.cart, &access.actor(), body)
        .await?;
    Ok((StatusCode::CREATED, Json(order)))
}

async fn cart_orders(
    State(state): State<AppState>,
    access: CartAccess<Member>,
) -> Result<Json<OrdersResponse>, AppError> {
    let orders = state.services.orders.of_cart(access.cart).await?;
    Ok(Json(OrdersResponse { orders }))
}

async fn store_orders(
    State(state): State<AppState>,
    signed_in: SignedIn,
    TheStore(store): TheStore,
) -> Result<Json<OrdersResponse>, AppError> {
    let orders = state
        .services
        .orders
        .of_store(&store.id, &signed_in.actor())
        .await?;
    Ok(Json(OrdersResponse { orders }))
}

async fn order(
    State(state): State<AppState>,
    signed_in: SignedIn,
    OrderId(id): OrderId,
) -> Result<Json<OrderView>, AppError> {
    let order = state.services.orders.get(&id, &signed_in.actor()).await?;
    Ok(Json(order))
}

async fn status(
    State(state): State<AppState>,
    signed_in: SignedIn,
    OrderId(id): OrderId,
    AppJson(body): AppJson<OrderStatusRequest>,
) -> Result<Json<OrderView>, AppError> {
    let order = state
        .services
        .orders
        .set_status(&id, body.status, &signed_in.actor())
        .await?;
    Ok(Json(order))
}

async fn paid(
    State(state): State<AppState>,
    signed_in: SignedIn,
    OrderId(id): OrderId,
    ShareUser(user): ShareUser,
) -> Result<Json<OrderView>, AppError> {
    let order = state
        .services
        .orders
        .mark_paid(&id, user, &signed_in.actor())
        .await?;
    Ok(Json(order))
}
