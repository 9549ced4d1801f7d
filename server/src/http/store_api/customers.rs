//! `/api/v1/store/customers`: import by e-mail, export with a cursor.

use axum::Json;
use axum::extract::State;
use cartroom_protocol::back_office::ImportCustomersRequest;
use cartroom_protocol::back_office::{
    CustomersPage, DEFAULT_PAGE, ImportCustomersResponse, MAX_PAGE,
};
use cartroom_protocol::http::ErrorBody;
use serde::Deserialize;
use serde_json::Value;

use super::ApiJson;
use super::auth::{ApiKey, StoreParam};
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::AppQuery;
use crate::services::back_office::{page_limit, parse_cursor};

/// The body of an import, each item read on its own.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCustomers {
    customers: Vec<Value>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `cursor` of the previous page.
    pub after: Option<String>,
    /// Items per page, 1 to 500 (orders: 1 to 100; default 100).
    pub limit: Option<usize>,
}

/// Imports customers by e-mail; each item is applied or refused on its own.
#[utoipa::path(
    post,
    path = "/api/v1/store/customers",
    tag = "store api",
    params(StoreParam, ("Idempotency-Key" = Option<String>, Header, description = "Replays the answer of the same request within 24 h")),
    request_body = ImportCustomersRequest,
    responses(
        (status = 200, description = "One result per item, in order", body = ImportCustomersResponse),
        (status = 400, description = "`invalid_field`: over 500 items", body = ErrorBody),
    ),
    security(("store_key" = [])),
)]
pub(super) async fn import(
    State(state): State<AppState>,
    ApiKey(key): ApiKey,
    ApiJson(body): ApiJson<RawCustomers>,
) -> Result<Json<ImportCustomersResponse>, AppError> {
    let results = state
        .services
        .back_office
        .import_customers(&key, body.customers)
        .await?;
    Ok(Json(results))
}

/// The store's customers changed after the cursor, oldest change first.
#[utoipa::path(
    get,
    path = "/api/v1/store/customers",
    tag = "store api",
    operation_id = "store_api_customers_list",
    params(PageQuery, StoreParam),
    responses(
        (status = 200, description = "A page of customers", body = CustomersPage),
        (status = 400, description = "`invalid_field`: a cursor the server did not give, or a limit out of range", body = ErrorBody),
    ),
    security(("store_key" = [])),
)]
pub(super) async fn list(
    State(state): State<AppState>,
    ApiKey(key): ApiKey,
    AppQuery(query): AppQuery<PageQuery>,
) -> Result<Json<CustomersPage>, AppError> {
    let after = parse_cursor(query.after.as_deref())?;
    let limit = page_limit(query.limit, DEFAULT_PAGE, MAX_PAGE)?;
    let page = state
        .services
        .back_office
        .customers(&key, after, limit)
        .await?;
    Ok(Json(page))
}
