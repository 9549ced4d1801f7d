//! How a request carries its session: `Authorization: Bearer`, else the
//! HttpOnly session cookie that browsers get.

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "cartroom_session";

/// Where a request's token came from; a cookie session needs an Origin check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSource {
    Bearer,
    Cookie,
}

/// The token of a request: `Authorization: Bearer`, else the session cookie.
pub fn request_token(headers: &HeaderMap) -> Option<(String, TokenSource)> {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(token) = bearer {
        return Some((token.trim().to_owned(), TokenSource::Bearer));
    }
    if headers.contains_key(COOKIE) {
        let jar = CookieJar::from_headers(headers);
        if let Some(cookie) = jar.get(SESSION_COOKIE) {
            return Some((cookie.value().to_owned(), TokenSource::Cookie));
        }
    }
    None
}

/// The session cookie carrying `token`.
pub fn session_cookie(token: String, max_age_days: u32) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(cookie::time::Duration::days(i64::from(max_age_days)))
        .build()
}

/// What clears the session cookie.
pub fn cleared_cookie() -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE).path("/").build()
}
