//! Health, metrics, the web client, and the JSON answers for paths and
//! methods the API does not have.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse};
use axum::routing::{any, get};
use cartroom_protocol::ErrorCode;
use tower::Layer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use super::error::AppError;
use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route("/api", any(api_not_found))
        .route("/api/", any(api_not_found))
        .route("/api/{*rest}", any(api_not_found))
}

/// Serves the built web client at `/` (any other path falls back to its
/// `index.html`, for the app's own routes), or a page saying it is not built.
pub fn with_web_client(router: Router<AppState>, web_dir: &std::path::Path) -> Router<AppState> {
    if !web_dir.join("index.html").exists() {
        return router.route("/", get(no_web_client));
    }
    let web = ServeDir::new(web_dir).fallback(ServeFile::new(web_dir.join("index.html")));
    // Vite names assets by content hash, so they never change.
    let assets = SetResponseHeaderLayer::if_not_present(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    )
    .layer(ServeDir::new(web_dir.join("assets")));
    router.nest_service("/assets", assets).fallback_service(web)
}

/// `ok` when the database answers and takes writes; 503 with the reason otherwise.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.services.health.check().await {
        Ok(()) => (StatusCode::OK, "ok".to_owned()),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    metrics::gauge!("cartroom_rooms").set(state.services.rooms.loaded() as f64);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

async fn api_not_found() -> AppError {
    AppError::new(ErrorCode::NotFound, "no such API endpoint")
}

/// The answer to a known path with a method it does not take.
pub async fn method_not_allowed() -> AppError {
    AppError::new(
        ErrorCode::MethodNotAllowed,
        "this endpoint does not take that method",
    )
}

async fn no_web_client() -> Html<&'static str> {
    Html(
        "<!doctype html><title>Cartroom</title><h1>Cartroom is running</h1>\
         <p>The web client is not built. Run <code>make run</code> from the repository, \
         or point <code>--web-dir</code> at <code>web-client/dist</code>.</p>",
    )
}
