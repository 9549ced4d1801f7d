//! `/api/v1/store/products`: the catalog as a back office syncs it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cartroom_protocol::back_office::UpsertProductsRequest;
use cartroom_protocol::back_office::{
    DEFAULT_PAGE, MAX_PAGE, ProductPatch, ProductsPage, SyncProduct, UpsertProductsResponse,
};
use cartroom_protocol::http::ErrorBody;
use serde::Deserialize;
use serde_json::Value;

use super::ApiJson;
use super::auth::{ApiKey, StoreParam};
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{AppPath, AppQuery};
use crate::services::back_office::{page_limit, parse_cursor};

/// The body of an upsert, each item read on its own so that one bad item
/// is reported rather than refusing the batch.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProducts {
    products: Vec<Value>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// Only products changed at or after this time (Unix ms).
    updated_since: Option<i64>,
    /// The `cursor` of the previous page.
    after: Option<String>,
    /// Products per page, 1 to 500 (default 100).
    limit: Option<usize>,
}

/// Creates or replaces products by sku; each item is applied or refused on its own.
#[utoipa::path(
    post,
    path = "/api/v1/store/products",
    tag = "store api",
    params(StoreParam, ("Idempotency-Key" = Option<String>, Header, description = "Replays the answer of the same request within 24 h")),
    request_body = UpsertProductsRequest,
    responses(
        (status = 200, description = "One result per item, in order", body = UpsertProductsResponse),
        (status = 400, description = "`invalid_field`: over 500 items", body = ErrorBody),
        (status = 409, description = "`idempotency_conflict`: the key was used with another request", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is over 1 MiB", body = ErrorBody),
    ),
    security(("store_key" = [])),
)]
pub(super) async fn upsert(
    State(state): State<AppState>,
    ApiKey(key): ApiKey,
    ApiJson(body): ApiJson<RawProducts>,
) -> Result<Json<UpsertProductsResponse>, AppError> {
    let results = state
        .services
        .back_office
        .upsert_products(&key, body.products)
        .await?;
    Ok(Json(results))
}

/// Changes only the fields given of a listed product.
#[utoipa::path(
    patch,
    path = "/api/v1/store/products/{sku}",
    tag = "store api",
    params(("sku" = String, Path, description = "The product's sku"), StoreParam, ("Idempotency-Key" = Option<String>, Header, description = "Replays the answer of the same request within 24 h")),
    request_body = ProductPatch,
    responses(
        (status = 200, description = "The product as it now is", body = SyncProduct),
        (status = 400, description = "`invalid_field`: a field out of bounds", body = ErrorBody),
        (status = 404, description = "`not_found`: the store lists no such product", body = ErrorBody),
    ),
    security(("store_key" = [])),
)]
pub(super) async fn patch(
    State(state): State<AppState>,
    ApiKey(key): ApiKey,
    AppPath(sku): AppPath<String>,
    ApiJson(body): ApiJson<ProductPatch>,
) -> Result<Json<SyncProduct>, AppError> {
    let product = state
        .services
        .back_office
        .patch_product(&key, &sku, &body)
        .await?;
    Ok(Json(product))
}

/// Unlists a product: it leaves the catalog; lines in carts stay, unavailable.
#[utoipa::path(
    delete,
    path = "/api/v1/store/products/{sku}",
    tag = "store api",
    params(("sku" = String, Path, description = "The product's sku"), StoreParam, ("Idempotency-Key" = Option<String>, Header, description = "Replays the answer of the same request within 24 h")),
    responses(
        (status = 204, description = "Unlisted (or it already was)"),
        (status = 404, description = "`not_found`: the store never had the product", body = ErrorBody),
    ),
    security(("store_key" = [])),
)]
pub(super) async fn unlist(
    State(state): State<AppState>,
    ApiKey(key): ApiKey,
    AppPath(sku): AppPath<String>,
) -> Result<StatusCode, AppError> {
    state
        .services
        .back_office
        .unlist_product(&key, &sku)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The store's products changed after the cursor, oldest change first (unlisted ones as `deleted`).
#[utoipa::path(
    get,
    path = "/api/v1/store/products",
    tag = "store api",
    operation_id = "store_api_products_list",
    params(ChangesQuery, StoreParam),
    responses(
        (status = 200, description = "A page of changed products", body = ProductsPage),
        (status = 400, description = "`invalid_field`: a cursor the server did not give, or a limit out of range", body = ErrorBody),
    ),
    security(("store_key" = [])),
)]
pub(super) async fn list(
    State(state): State<AppState>,
    ApiKey(key): ApiKey,
    AppQuery(query): AppQuery<ChangesQuery>,
) -> Result<Json<ProductsPage>, AppError> {
    let after = parse_cursor(query.after.as_deref())?;
    let limit = page_limit(query.limit, DEFAULT_PAGE, MAX_PAGE)?;
    let since = query.updated_since.unwrap_or(0);
    let page = state
        .services
        .back_office
        .products(&key, since, after, limit)
        .await?;
    Ok(Json(page))
}
