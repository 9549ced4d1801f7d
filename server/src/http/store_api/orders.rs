//! `/api/v1/store/orders`: the store's orders in placing order, and their
//! status moved on by the back office.

use axum::Json;
use axum::extract::State;
use cartroom_protocol::back_office::{DEFAULT_PAGE, MAX_ORDER_PAGE, StoreOrdersPage};
use cartroom_protocol::checkout::{OrderStatusRequest, OrderView};
use cartroom_protocol::http::ErrorBody;

use super::ApiJson;
use super::auth::{ApiKey, StoreParam};
use super::customers::PageQuery;
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{AppPath, AppQuery};
use crate::services::back_office::{page_limit, parse_cursor};

/// The store's orders placed after the cursor, in placing order; never skips or repeats one.
#[utoipa::path(
    get,
    path = "/api/v1/store/orders",
    tag = "store api",
    operation_id = "store_api_orders_list",
    params(PageQuery, StoreParam),
    responses(
        (status = 200, description = "A page of orders", body = StoreOrdersPage),
        (status = 400, description = "`invalid_field`: a cursor the server did not give, or a limit out of range", body = ErrorBody),
    ),
    security(("store_key" = [])),
)]
pub(super) async fn list(
    State(state): State<AppState>,
    ApiKey(key): ApiKey,
    AppQuery(query): AppQuery<PageQuery>,
) -> Result<Json<StoreOrdersPage>, AppError> {
    let after = parse_cursor(query.after.as_deref())?;
    let limit = page_limit(
        query.limit,
        DEFAULT_PAGE.min(MAX_ORDER_PAGE),
        MAX_ORDER_PAGE,
    )?;
    let page = state
        .services
        .back_office
        .orders_page(&key, after, limit)
        .await?;
    Ok(Json(page))
}

/// Moves an order of the store on (confirm, fulfil, cancel), named after the key in the cart.
#[utoipa::path(
    post,
    path = "/api/v1/store/orders/{id}/status",
    tag = "store api",
    params(("id" = String, Path, description = "The order's id"), StoreParam, ("Idempotency-Key" = Option<String>, Header, description = "Replays the answer of the same request within 24 h")),
    request_body = OrderStatusRequest,
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 404, description = "`order_not_found`: no such order of this store", body = ErrorBody),
        (status = 409, description = "`wrong_phase`: the order cannot move to that status", body = ErrorBody),
    ),
    security(("store_key" = [])),
)]
pub(super) async fn status(
    State(state): State<AppState>,
    ApiKey(key): ApiKey,
    AppPath(id): AppPath<String>,
    ApiJson(body): ApiJson<OrderStatusRequest>,
) -> Result<Json<OrderView>, AppError> {
    let order = state
        .services
        .back_office
        .set_order_status(&key, &id, body.status)
        .await?;
    Ok(Json(order))
}
