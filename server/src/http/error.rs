//! The one error type of the HTTP edge: a status, a stable code and words,
//! answered as `{"error":{"code","message"}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cartroom_protocol::ErrorCode;
use cartroom_protocol::http::{ErrorBody, ErrorDetail};

use crate::refusal::Refusal;
use crate::services::ServiceError;

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
}

impl AppError {
    /// An error with the status that goes with its code.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: status_of(code),
            code,
            message: message.into(),
        }
    }

    /// An error whose status is not the usual one for its code.
    pub fn with_status(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(ErrorCode::Unauthorized, "sign in first")
    }
}

/// The HTTP status that goes with each stable code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        Unauthorized | BadCredentials => StatusCode::UNAUTHORIZED,
        Forbidden => StatusCode::FORBIDDEN,
        CartNotFound | UserNotFound | NotFound | StoreNotFound => StatusCode::NOT_FOUND,
        MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        EmailTaken | LastAdmin | TooMany | AlreadyMember => StatusCode::CONFLICT,
        RateLimited => StatusCode::TOO_MANY_REQUESTS,
        // Sharing (docs/protocol.md section 11).
        InviteNotFound => StatusCode::NOT_FOUND,
        InviteExpired | InviteRevoked => StatusCode::GONE,
        InviteUsedUp => StatusCode::CONFLICT,
        // Checkout (docs/protocol.md section 12).
        CartLocked | WrongPhase | ApprovalRequired | PriceChanged => StatusCode::CONFLICT,
        OverBudget | UnassignedQuantity | SplitInvalid => StatusCode::BAD_REQUEST,
        OrderNotFound => StatusCode::NOT_FOUND,
        // Store staff (docs/protocol.md section 11).
        AlreadyStaff | LastOwner => StatusCode::CONFLICT,
        // Two-factor sign-in (docs/protocol.md section 1).
        TotpRequired | TotpInvalid | TotpReplayed => StatusCode::UNAUTHORIZED,
        TotpState => StatusCode::CONFLICT,
        // Support desk (docs/protocol.md section 13).
        HelpCodeInvalid => StatusCode::NOT_FOUND,
        HelpCodeExpired => StatusCode::GONE,
        TakeoverInProgress | TakeoverState | IdempotencyConflict => StatusCode::CONFLICT,
        Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Internal => StatusCode::INTERNAL_SERVER_ERROR,
        BadMessage | InvalidField | NotSubscribed | TooManySubscriptions | UnknownSku
        | LineNotFound | SuggestionNotFound | QuantityOutOfRange | CartFull | OutOfStock => {
            StatusCode::BAD_REQUEST
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<Refusal> for AppError {
    fn from(r: Refusal) -> Self {
        Self::new(r.code, r.message)
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Refused(r) => r.into(),
            ServiceError::Store(e) => {
                tracing::error!(error = %e, "storage error");
                Self::new(
                    ErrorCode::Unavailable,
                    "storage is unavailable right now; try again",
                )
            }
        }
    }
}
