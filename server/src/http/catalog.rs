//! The stores and their catalogs, readable without a session, and product
//! pictures. Every route takes `?store=<id>`; without it, the default store.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use cartroom_protocol::ErrorCode;
use cartroom_protocol::http::{CatalogResponse, ErrorBody, Product, StoreInfo, StoresResponse};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::AppError;
use super::extract::{AppPath, AppQuery, StoreQuery};
use crate::app::AppState;
use crate::catalog::picture::product_svg;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stores))
        .routes(routes!(store_info))
        .routes(routes!(catalog))
        .routes(routes!(product))
        .routes(routes!(image))
}

/// The stores of the server.
#[utoipa::path(
    get,
    path = "/api/stores",
    tag = "catalog",
    responses((status = 200, description = "Every store of the server", body = StoresResponse)),
)]
async fn stores(State(state): State<AppState>) -> Json<StoresResponse> {
    Json(StoresResponse {
        stores: state.services.catalogs.stores(),
    })
}

/// One store.
#[utoipa::path(
    get,
    path = "/api/store",
    tag = "catalog",
    params(StoreQuery),
    responses(
        (status = 200, description = "The store", body = StoreInfo),
        (status = 404, description = "`store_not_found`", body = ErrorBody),
    ),
)]
async fn store_info(
    State(state): State<AppState>,
    AppQuery(query): AppQuery<StoreQuery>,
) -> Result<Json<StoreInfo>, AppError> {
    let catalog = state.services.catalogs.resolve(query.store())?.current();
    Ok(Json(catalog.store.clone()))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct CatalogQuery {
    /// The store's id (`GET /api/stores`); the default store when absent.
    store: Option<String>,
    /// Text the product's name or sku must contain (any case).
    q: Option<String>,
}

/// A store's catalog, searchable.
#[utoipa::path(
    get,
    path = "/api/catalog",
    tag = "catalog",
    params(CatalogQuery),
    responses(
        (status = 200, description = "The store's products with their stock", body = CatalogResponse),
        (status = 404, description = "`store_not_found`", body = ErrorBody),
    ),
)]
async fn catalog(
    State(state): State<AppState>,
    AppQuery(query): AppQuery<CatalogQuery>,
) -> Result<Json<CatalogResponse>, AppError> {
    let catalog = state
        .services
        .catalogs
        .resolve(query.store.as_deref())?
        .current();
    Ok(Json(CatalogResponse {
        products: catalog.search(query.q.as_deref()),
    }))
}

/// A lookup of a product that does not exist: 404, with the code an op
/// naming it would get.
fn unknown_sku(sku: &str) -> AppError {
    AppError::with_status(
        StatusCode::NOT_FOUND,
        ErrorCode::UnknownSku,
        format!("no product {sku}"),
    )
}

/// One product of a store's catalog.
#[utoipa::path(
    get,
    path = "/api/catalog/{sku}",
    tag = "catalog",
    params(("sku" = String, Path, description = "The product's sku"), StoreQuery),
    responses(
        (status = 200, description = "The product", body = Product),
        (status = 404, description = "`unknown_sku` or `store_not_found`", body = ErrorBody),
    ),
)]
async fn product(
    State(state): State<AppState>,
    AppPath(sku): AppPath<String>,
    AppQuery(query): AppQuery<StoreQuery>,
) -> Result<Json<Product>, AppError> {
    let catalog = state.services.catalogs.resolve(query.store())?.current();
    let product = catalog.get(&sku).ok_or_else(|| unknown_sku(&sku))?;
    Ok(Json(product.clone()))
}

/// `/images/{sku}.svg?store=<id>`; without a store, the first store that
/// sells the sku (pages that only know a line's sku).
#[utoipa::path(
    get,
    path = "/images/{file}",
    tag = "catalog",
    params(("file" = String, Path, description = "`<sku>.svg`"), StoreQuery),
    responses(
        (status = 200, description = "The product's picture", body = String, content_type = "image/svg+xml"),
        (status = 404, description = "`unknown_sku` or `store_not_found`", body = ErrorBody),
    ),
)]
async fn image(
    State(state): State<AppState>,
    AppPath(file): AppPath<String>,
    AppQuery(query): AppQuery<StoreQuery>,
) -> Result<Response, AppError> {
    let sku = file.strip_suffix(".svg").unwrap_or(&file);
    let catalogs = &state.services.catalogs;
    let catalog = match query.store() {
        Some(store) => Some(catalogs.resolve(Some(store))?.current()),
        None => catalogs
            .stores()
            .iter()
            .filter_map(|s| catalogs.get(&s.id))
            .map(|c| c.current())
            .find(|c| c.listing(sku).is_some()),
    };
    let listing = catalog
        .as_ref()
        .and_then(|c| c.listing(sku))
        .ok_or_else(|| unknown_sku(sku))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        product_svg(listing),
    )
        .into_response())
}
