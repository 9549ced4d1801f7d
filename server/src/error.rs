//! The one error type of the HTTP API: a status, a stable code and words.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cartroom_protocol::ErrorCode;

use crate::cart::OpError;
use crate::store::{MemberChangeError, StoreError};

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: status_of(code),
            code,
            message: message.into(),
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(ErrorCode::Unauthorized, "sign in first")
    }

    pub fn cart_not_found() -> Self {
        Self::new(
            ErrorCode::CartNotFound,
            "no such cart, or you are not a member",
        )
    }

    pub fn unavailable() -> Self {
        Self::new(
            ErrorCode::Unavailable,
            "the cart is unavailable right now; try again",
        )
    }
}

/// The HTTP status that goes with each stable code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        Unauthorized | BadCredentials => StatusCode::UNAUTHORIZED,
        Forbidden => StatusCode::FORBIDDEN,
        CartNotFound | UserNotFound => StatusCode::NOT_FOUND,
        EmailTaken | LastAdmin => StatusCode::CONFLICT,
        RateLimited => StatusCode::TOO_MANY_REQUESTS,
        Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Internal => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage error");
        Self::new(
            ErrorCode::Unavailable,
            "storage is unavailable right now; try again",
        )
    }
}

impl From<OpError> for AppError {
    fn from(e: OpError) -> Self {
        Self::new(e.code, e.message)
    }
}

impl From<MemberChangeError> for AppError {
    fn from(e: MemberChangeError) -> Self {
        match e {
            MemberChangeError::LastAdmin => Self::new(ErrorCode::LastAdmin, e.to_string()),
            MemberChangeError::NotMember => Self::new(ErrorCode::UserNotFound, e.to_string()),
            MemberChangeError::TooMany(_) => Self::new(ErrorCode::InvalidField, e.to_string()),
            MemberChangeError::Store(e) => e.into(),
        }
    }
}
