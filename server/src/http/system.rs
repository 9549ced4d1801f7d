//! Health, metrics (for the operator only), the web client, the security
//! headers of every answer, and the JSON answers for paths and methods the
//! API does not have.

use std::net::IpAddr;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get};
use cartroom_protocol::ErrorCode;
use cartroom_protocol::http::ErrorBody;
use tower::Layer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::AppError;
use super::extract::ClientAddr;
use super::session::bearer_token;
use crate::app::AppState;
use crate::auth::token::token_hash;

/// What the built web client needs and nothing more: its own scripts (and
/// compiling Automerge's wasm), styles and pictures, `data:` for the
/// favicon, style attributes (avatars' colours), requests and the socket to
/// this server. No page may frame it (clickjacking).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; \
     script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; style-src-attr 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";
/// Links to other sites do not learn which cart a page showed.
pub const REFERRER_POLICY: &str = "no-referrer";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(metrics_text))
        // Unknown API paths answer in the error shape; not endpoints.
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
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "system",
    responses(
        (status = 200, description = "`ok`", body = String, content_type = "text/plain"),
        (status = 503, description = "Why the database does not answer or take writes", body = String, content_type = "text/plain"),
    ),
)]
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.services.health.check().await {
        Ok(()) => (StatusCode::OK, "ok".to_owned()),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// The security headers on every answer (unless a handler set its own).
pub fn with_security_headers(router: Router<AppState>) -> Router<AppState> {
    let header =
        |name, value| SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value));
    router
        .layer(header(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::REFERRER_POLICY, REFERRER_POLICY))
}

/// Prometheus metrics, for the operator: loopback clients, or with `--metrics-token` as `Authorization: Bearer`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "system",
    responses(
        (status = 200, description = "Prometheus metrics", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 403, description = "`forbidden`: not from this machine, and no metrics token", body = ErrorBody),
    ),
    security((), ("metrics_token" = [])),
)]
async fn metrics_text(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if !metrics_allowed(client, &headers, state.config.metrics_token.as_deref()) {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "metrics are for the operator: ask from this machine, or with the metrics token",
        ));
    }
    metrics::gauge!("cartroom_rooms").set(state.services.rooms.loaded() as f64);
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response())
}

/// With `--metrics-token`, whoever sends it as `Authorization: Bearer`
/// (compared by digest, so the comparison's time tells nothing); without
/// one, loopback clients only.
fn metrics_allowed(client: IpAddr, headers: &HeaderMap, token: Option<&str>) -> bool {
    match token {
        Some(token) => {
            bearer_token(headers).is_some_and(|sent| token_hash(sent) == token_hash(token))
        }
        None => client.is_loopback(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn with_bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
        headers.insert(header::AUTHORIZATION, value);
        headers
    }

    #[test]
    fn metrics_answer_loopback_or_the_token_holder() {
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let local6: IpAddr = "::1".parse().unwrap();
        let remote: IpAddr = "203.0.113.9".parse().unwrap();
        let none = HeaderMap::new();
        assert!(metrics_allowed(local, &none, None));
        assert!(metrics_allowed(local6, &none, None));
        assert!(!metrics_allowed(remote, &none, None));
        assert!(!metrics_allowed(remote, &with_bearer("guess"), None));

        let token = Some("s3cret");
        assert!(metrics_allowed(remote, &with_bearer("s3cret"), token));
        assert!(!metrics_allowed(remote, &with_bearer("s3cre"), token));
        assert!(
            !metrics_allowed(local, &none, token),
            "a token binds loopback too"
        );
    }
}
