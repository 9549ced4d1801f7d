//! Which pages may open a socket: the server's own origin and the
//! configured allow-list, so that a page on another site cannot ride a
//! shopper's cookie (cross-site WebSocket hijacking).

use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};

/// Checks `Origin` against the server's own origin and the allow-list.
/// Requests without `Origin` (non-browser clients) pass; a browser always sends it.
pub fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let own = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|host| {
            origin == format!("http://{host}") || origin == format!("https://{host}")
        });
    own || allowed.iter().any(|a| a.trim_end_matches('/') == origin)
}
