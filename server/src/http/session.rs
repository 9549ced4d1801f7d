//! How a request carries its session: `Authorization: Bearer`, else the
//! HttpOnly session cookie that browsers get. A browser sends the cookie
//! along with requests that any site's page makes, so a cookie session must
//! come from an allowed page (its `Origin`) to change anything.

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE, ORIGIN};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use cartroom_protocol::ErrorCode;

use super::error::AppError;
use crate::app::AppState;
use crate::ws::origin::origin_allowed;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "cartroom_session";

/// Where a request's token came from; a cookie session needs an Origin check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSource {
    Bearer,
    Cookie,
}

/// The token of `Authorization: Bearer`, if the request has one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The token of a request: `Authorization: Bearer`, else the session cookie.
pub fn request_token(headers: &HeaderMap) -> Option<(String, TokenSource)> {
    if let Some(token) = bearer_token(headers) {
        return Some((token.to_owned(), TokenSource::Bearer));
    }
    if headers.contains_key(COOKIE) {
        let jar = CookieJar::from_headers(headers);
        if let Some(cookie) = jar.get(SESSION_COOKIE) {
            return Some((cookie.value().to_owned(), TokenSource::Cookie));
        }
    }
    None
}

/// Whether a request that rides on the session cookie comes from a page
/// that may use it: it names its `Origin` (browsers do on every request but
/// GET and HEAD, and on WebSocket handshakes), and that is the server's own
/// or on `--allowed-origins`.
pub fn cookie_origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    headers.contains_key(ORIGIN) && origin_allowed(headers, allowed)
}

/// Middleware: a request that changes something (any method but GET and
/// HEAD) with its session in the cookie is refused with `forbidden` unless
/// [`cookie_origin_allowed`], so that another site's page cannot act as the
/// shopper (CSRF). Bearer requests pass: no other site can make a browser
/// send that header.
pub async fn check_cookie_origin(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD);
    let by_cookie = matches!(request_token(req.headers()), Some((_, TokenSource::Cookie)));
    if changes && by_cookie && !cookie_origin_allowed(req.headers(), &state.config.allowed_origins)
    {
        return AppError::new(
            ErrorCode::Forbidden,
            "this page's origin may not use the session cookie",
        )
        .into_response();
    }
    next.run(req).await
}

/// The session cookie carrying `token`; `secure` when the server is reached
/// over TLS (`--secure-cookies`).
pub fn session_cookie(token: String, max_age_days: u32, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(cookie::time::Duration::days(i64::from(max_age_days)))
        .build()
}

/// What clears the session cookie.
pub fn cleared_cookie(secure: bool) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE)
        .path("/")
        .secure(secure)
        .build()
}
