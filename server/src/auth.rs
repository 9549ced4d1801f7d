//! Accounts and sessions: argon2id password hashes, opaque random session
//! tokens stored as SHA-256 hashes, guests that can later sign up.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine as _;
use cartroom_protocol::ErrorCode;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::state::AppState;
use crate::store::{self, User};

/// Sign-in attempts allowed per e-mail: 10 at once, then one every 6 s.
pub fn signin_quota() -> governor::Quota {
    governor::Quota::per_minute(std::num::NonZeroU32::new(10).expect("non-zero"))
}

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "cartroom_session";

/// Password hashes computed at once. Each argon2id hash takes 19 MiB and a
/// core for ~35 ms, so a burst of sign-ups must queue, not pile up threads
/// and memory.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Hashes a password with argon2id on a blocking thread (it is slow on purpose).
pub async fn hash_password(password: String) -> Result<String, AppError> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|_| AppError::new(ErrorCode::Internal, "hashing closed"))?;
    tokio::task::spawn_blocking(move || {
        let salt =
            SaltString::encode_b64(&rand::random::<[u8; 16]>()).expect("16 bytes is a valid salt");
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|_| AppError::new(ErrorCode::Internal, "hashing failed"))?
    .map_err(|_| AppError::new(ErrorCode::Internal, "hashing failed"))
}

/// Checks a password against its stored hash on a blocking thread.
pub async fn verify_password(password: String, hash: String) -> bool {
    let Ok(_permit) = HASHING.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A fresh session token (32 random bytes, base64url).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
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

/// Where the request's token came from; a cookie session needs an Origin check.
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

/// An authenticated request's user.
#[derive(Clone, Debug)]
pub struct Authed {
    pub user: User,
    pub token_hash: String,
    pub source: TokenSource,
}

impl Authed {
    /// The session's user, from the request's headers.
    pub async fn from_headers(state: &AppState, headers: &HeaderMap) -> Result<Self, AppError> {
        let (token, source) = request_token(headers).ok_or_else(AppError::unauthorized)?;
        let hash = token_hash(&token);
        let user = store::session_user(&state.pool, &hash, state.clock.now_ms())
            .await?
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::Unauthorized,
                    "the session is unknown or expired; sign in again",
                )
            })?;
        Ok(Self {
            user,
            token_hash: hash,
            source,
        })
    }
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Self::from_headers(state, &parts.headers).await
    }
}

impl OptionalFromRequestParts<AppState> for Authed {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        match Self::from_headers(state, &parts.headers).await {
            Ok(authed) => Ok(Some(authed)),
            Err(e) if e.code == ErrorCode::Unauthorized => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Normalizes and checks sign-up fields.
pub fn validate_signup(
    email: &str,
    password: &str,
    name: &str,
) -> Result<(String, String), AppError> {
    let email = email.trim().to_lowercase();
    let name = name.trim().to_owned();
    let invalid = |m: &str| AppError::new(ErrorCode::InvalidField, m);
    if email.len() < 3
        || email.len() > 254
        || email.matches('@').count() != 1
        || email.starts_with('@')
        || email.ends_with('@')
    {
        return Err(invalid("enter a valid e-mail address"));
    }
    let chars = password.chars().count();
    if !(8..=128).contains(&chars) {
        return Err(invalid("a password has 8 to 128 characters"));
    }
    validate_display_name(&name)?;
    Ok((email, name))
}

/// Checks a display name (1..=60 characters).
pub fn validate_display_name(name: &str) -> Result<(), AppError> {
    let chars = name.trim().chars().count();
    if !(1..=60).contains(&chars) {
        return Err(AppError::new(
            ErrorCode::InvalidField,
            "a name has 1 to 60 characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn password_hashes_verify_only_the_right_password() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), hash.clone()).await);
        assert!(!verify_password("wrong horse".into(), hash).await);
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[test]
    fn signup_fields_are_validated() {
        assert!(validate_signup("Ana@Example.com ", "longenough", "Ana").is_ok());
        assert_eq!(
            validate_signup("Ana@Example.com", "longenough", "Ana")
                .unwrap()
                .0,
            "ana@example.com"
        );
        assert!(validate_signup("no-at-sign", "longenough", "Ana").is_err());
        assert!(validate_signup("a@b", "short", "Ana").is_err());
        assert!(validate_signup("a@b", "longenough", " ").is_err());
    }
}
