//! The stores and their catalogs, readable without a session, and product
//! pictures. Every route takes `?store=<id>`; without it, the default store.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get};
use cartroom_protocol::ErrorCode;
use cartroom_protocol::http::{CatalogResponse, Product, StoreInfo, StoresResponse};
use serde::Deserialize;

use super::error::AppError;
use super::extract::{AppPath, AppQuery, StoreQuery};
use crate::app::AppState;
use crate::catalog::picture::product_svg;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/stores", get(stores))
        .route("/api/store", get(store_info))
        .route("/api/catalog", get(catalog))
        .route("/api/catalog/{sku}", get(product))
        .route("/images/{file}", get(image))
}

async fn stores(State(state): State<AppState>) -> Json<StoresResponse> {
    Json(StoresResponse {
        stores: state.services.catalogs.stores(),
    })
}

async fn store_info(
    State(state): State<AppState>,
    AppQuery(query): AppQuery<StoreQuery>,
) -> Result<Json<StoreInfo>, AppError> {
    let catalog = state.services.catalogs.resolve(query.store())?.current();
    Ok(Json(catalog.store.clone()))
}

#[derive(Deserialize)]
struct CatalogQuery {
    store: Option<String>,
    q: Option<String>,
}

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
