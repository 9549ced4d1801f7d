//! Checkout and orders: `/api/carts/{id}/checkout` (the quote),
//! `/api/carts/{id}/order` (place it), `/api/carts/{id}/orders`, and
//! `/api/orders/{order_id}...` for an order's status and payments;
//! `/api/store/orders` for the store's staff. Placing an order is
//! throttled with the ops.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::{Extension, Json, extract::FromRequestParts};
use cartroom_protocol::checkout::{
    CheckoutQuote, OrderStatusRequest, OrderView, OrdersResponse, PlaceOrderRequest,
};
use cartroom_protocol::http::ErrorBody;
use cartroom_protocol::{CartId, ErrorCode, UserId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::AppError;
use super::extract::{
    AppJson, CartAccess, MayCheckout, Member, SignedIn, StoreQuery, TheStore, path_param,
};
use super::throttle::Throttles;
use crate::app::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(quote))
        .routes(routes!(place))
        .routes(routes!(cart_orders))
        .routes(routes!(store_orders))
        .routes(routes!(order))
        .routes(routes!(status))
        .routes(routes!(paid))
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

/// The checkout quote of a cart.
#[utoipa::path(
    get,
    path = "/api/carts/{id}/checkout",
    tag = "orders",
    params(("id" = CartId, Path, description = "The cart")),
    responses(
        (status = 200, description = "What placing the order would charge, and what blocks it", body = CheckoutQuote),
        (status = 404, description = "`cart_not_found`: no such cart, or the caller is not a member", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn quote(
    State(state): State<AppState>,
    access: CartAccess<Member>,
) -> Result<Json<CheckoutQuote>, AppError> {
    Ok(Json(state.services.checkout.quote(access.cart).await?))
}

/// Places the cart's order.
#[utoipa::path(
    post,
    path = "/api/carts/{id}/order",
    tag = "orders",
    params(("id" = CartId, Path, description = "The cart")),
    request_body = PlaceOrderRequest,
    responses(
        (status = 201, description = "The order", body = OrderView),
        (status = 400, description = "`over_budget`, `unassigned_quantity`, `split_invalid`, `out_of_stock`", body = ErrorBody),
        (status = 403, description = "`forbidden`: the caller's role does not allow it", body = ErrorBody),
        (status = 404, description = "`cart_not_found`: no such cart, or the caller is not a member", body = ErrorBody),
        (status = 409, description = "`wrong_phase`, `approval_required` or `price_changed`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
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

/// The orders of a cart.
#[utoipa::path(
    get,
    path = "/api/carts/{id}/orders",
    tag = "orders",
    params(("id" = CartId, Path, description = "The cart")),
    responses(
        (status = 200, description = "The cart's orders", body = OrdersResponse),
        (status = 404, description = "`cart_not_found`: no such cart, or the caller is not a member", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn cart_orders(
    State(state): State<AppState>,
    access: CartAccess<Member>,
) -> Result<Json<OrdersResponse>, AppError> {
    let orders = state.services.orders.of_cart(access.cart).await?;
    Ok(Json(OrdersResponse { orders }))
}

/// The store's orders (its staff).
#[utoipa::path(
    get,
    path = "/api/store/orders",
    tag = "orders",
    params(StoreQuery),
    responses(
        (status = 200, description = "The store's orders", body = OrdersResponse),
        (status = 403, description = "`forbidden`: not the store's staff", body = ErrorBody),
        (status = 404, description = "`store_not_found`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
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

/// One order.
#[utoipa::path(
    get,
    path = "/api/orders/{order_id}",
    tag = "orders",
    params(("order_id" = String, Path, description = "The order")),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 404, description = "`order_not_found`: no such order, or not the caller's", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn order(
    State(state): State<AppState>,
    signed_in: SignedIn,
    OrderId(id): OrderId,
) -> Result<Json<OrderView>, AppError> {
    let order = state.services.orders.get(&id, &signed_in.actor()).await?;
    Ok(Json(order))
}

/// Moves an order to a new status (the store's staff).
#[utoipa::path(
    post,
    path = "/api/orders/{order_id}/status",
    tag = "orders",
    params(("order_id" = String, Path, description = "The order")),
    request_body = OrderStatusRequest,
    responses(
        (status = 200, description = "The order with its new status", body = OrderView),
        (status = 403, description = "`forbidden`: not the store's staff, or the order cannot move to that status", body = ErrorBody),
        (status = 404, description = "`order_not_found`: no such order, or not the caller's", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
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

/// Marks a payer's share of an order paid.
#[utoipa::path(
    post,
    path = "/api/orders/{order_id}/shares/{user_id}/paid",
    tag = "orders",
    params(("order_id" = String, Path, description = "The order"), ("user_id" = UserId, Path, description = "The payer")),
    responses(
        (status = 200, description = "The order with the payer's share paid", body = OrderView),
        (status = 403, description = "`forbidden`: the caller's role does not allow it", body = ErrorBody),
        (status = 404, description = "`order_not_found` or `user_not_found`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
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
