//! The [`ApiKey`] extractor of the `/api/v1/store` routes: the store's API
//! key as `Authorization: Bearer crk_...`, checked, matched against a
//! `?store=` the request may name, and rate limited per key.

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, RETRY_AFTER};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use cartroom_protocol::ErrorCode;
use cartroom_protocol::back_office::{KEY_REQUESTS_BURST, KEY_REQUESTS_PER_SECOND};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;

use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::AppQuery;
use crate::services::back_office::StoreKey;
use crate::services::back_office::keys::KeyRefusal;

/// Keys a limiter holds before it forgets those that are idle again.
const MAX_TRACKED_KEYS: usize = 10_000;

/// The per-key request limit (`KEY_REQUESTS_PER_SECOND`, burst
/// `KEY_REQUESTS_BURST`).
pub struct KeyLimits(DefaultKeyedRateLimiter<String>);

impl Default for KeyLimits {
    fn default() -> Self {
        let rate = NonZeroU32::new(KEY_REQUESTS_PER_SECOND).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(KEY_REQUESTS_BURST).unwrap_or(NonZeroU32::MIN);
        Self(RateLimiter::keyed(
            Quota::per_second(rate).allow_burst(burst),
        ))
    }
}

impl KeyLimits {
    /// Counts a request of `key`; past the limit, the whole seconds to
    /// wait (at least 1).
    fn check(&self, key: &str) -> Option<u64> {
        let outcome = self.0.check_key(&key.to_owned());
        if self.0.len() > MAX_TRACKED_KEYS {
            self.0.retain_recent();
        }
        let not_until = outcome.err()?;
        metrics::counter!("cartroom_http_rate_limited_total", "limit" => "store_api_key")
            .increment(1);
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        Some((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1))
    }
}

/// `rate_limited` (429) with `Retry-After`.
fn rate_limited(seconds: u64) -> Response {
    let mut response = AppError::new(
        ErrorCode::RateLimited,
        format!(
            "this key may send {KEY_REQUESTS_PER_SECOND} requests a second \
             (bursts of {KEY_REQUESTS_BURST}); retry after {seconds} s"
        ),
    )
    .into_response();
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// The key of a store API request, once checked.
#[derive(Clone, Debug)]
pub struct ApiKey(pub StoreKey);

/// `?store=` on a store API route: optional, and the key's store if given.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StoreParam {
    /// The key's store (another store: `403 forbidden`); may be left out.
    store: Option<String>,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Checks the request's key: `unauthorized` (401) without one, or for an
/// unknown or revoked one; `forbidden` (403) when `?store=` names another
/// store; `rate_limited` (429) past the key's limit.
pub async fn check_key(parts: &mut Parts, state: &AppState) -> Result<StoreKey, Response> {
    let secret = bearer(&parts.headers).ok_or_else(|| {
        AppError::new(
            ErrorCode::Unauthorized,
            "send the store's API key as `Authorization: Bearer crk_...`",
        )
        .into_response()
    })?;
    let key = match state.services.back_office.authenticate(secret).await {
        Ok(Ok(key)) => key,
        Ok(Err(KeyRefusal::Unknown)) => {
            return Err(
                AppError::new(ErrorCode::Unauthorized, "this API key is unknown").into_response(),
            );
        }
        Ok(Err(KeyRefusal::Revoked)) => {
            return Err(AppError::new(
                ErrorCode::Unauthorized,
                "this API key was revoked; ask the store's owner for a new one",
            )
            .into_response());
        }
        Err(e) => return Err(AppError::from(e).into_response()),
    };
    let AppQuery(query) = AppQuery::<StoreParam>::from_request_parts(parts, state)
        .await
        .map_err(IntoResponse::into_response)?;
    if let Some(store) = query.store
        && store != key.store_id
    {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            format!(
                "this API key is for store {:?}, not {store:?}",
                key.store_id
            ),
        )
        .into_response());
    }
    if let Some(seconds) = parts
        .extensions
        .get::<Arc<KeyLimits>>()
        .and_then(|limits| limits.check(&key.id))
    {
        return Err(rate_limited(seconds));
    }
    Ok(key)
}

impl FromRequestParts<AppState> for ApiKey {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Checked already by the idempotency layer (and counted once).
        if let Some(key) = parts.extensions.get::<ApiKey>() {
            return Ok(key.clone());
        }
        let key = check_key(parts, state).await?;
        parts.extensions.insert(ApiKey(key.clone()));
        Ok(Self(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_past_its_burst_is_told_when_to_retry_and_others_are_not() {
        let limits = KeyLimits::default();
        for _ in 0..KEY_REQUESTS_BURST {
            assert_eq!(limits.check("a"), None);
        }
        let wait = limits.check("a").expect("over the burst");
        assert!(wait >= 1);
        assert_eq!(limits.check("b"), None, "each key has its own budget");
        let response = rate_limited(wait);
        assert_eq!(response.status(), axum::http::StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[RETRY_AFTER], wait.to_string().as_str());
    }
}
