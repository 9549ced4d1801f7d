//! The catalog, readable without a session, and product pictures.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get};
use cartroom_protocol::ErrorCode;
use cartroom_protocol::http::{CatalogResponse, Product, StoreInfo};
use serde::Deserialize;

use super::error::AppError;
use super::extract::{AppPath, AppQuery};
use crate::app::AppState;
use crate::catalog::picture::product_svg;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/store", get(store_info))
        .route("/api/catalog", get(catalog))
        .route("/api/catalog/{sku}", get(product))
        .route("/images/{file}", get(image))
}

async fn store_info(State(state): State<AppState>) -> Json<StoreInfo> {
    Json(state.services.catalog.current().store.clone())
}

#[derive(Deserialize)]
struct CatalogQuery {
    q: Option<String>,
}

async fn catalog(
    State(state): State<AppState>,
    AppQuery(query): AppQuery<CatalogQuery>,
) -> Json<CatalogResponse> {
    let products = state.services.catalog.current().search(query.q.as_deref());
    Json(CatalogResponse { products })
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
) -> Result<Json<Product>, AppError> {
    let catalog = state.services.catalog.current();
    let product = catalog.get(&sku).ok_or_else(|| unknown_sku(&sku))?;
    Ok(Json(product.clone()))
}

async fn image(
    State(state): State<AppState>,
    AppPath(file): AppPath<String>,
) -> Result<Response, AppError> {
    let sku = file.strip_suffix(".svg").unwrap_or(&file);
    let catalog = state.services.catalog.current();
    let listing = catalog.listing(sku).ok_or_else(|| unknown_sku(sku))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        product_svg(listing),
    )
        .into_response())
}
