//! `/api/auth/*` and `/api/me`: sessions start with the token in the body
//! and in the HttpOnly cookie. Sign-ins and new accounts are throttled per
//! client address ([`Throttles`]), and so are two-factor codes, whether
//! they come with a sign-in or confirm or disable TOTP.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use axum_extra::extract::CookieJar;
use cartroom_protocol::http::{
    ErrorBody, GuestRequest, MeResponse, SessionResponse, SigninRequest, SignupRequest,
    TotpConfirmRequest, TotpConfirmResponse, TotpDisableRequest, TotpEnrolResponse, TotpStatus,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::AppError;
use super::extract::{AppJson, ClientAddr, SignedIn};
use super::session::{cleared_cookie, session_cookie};
use super::throttle::Throttles;
use crate::app::AppState;
use crate::services::accounts::normalize_email;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(signin))
        .routes(routes!(guest))
        .routes(routes!(signout))
        .routes(routes!(totp_status))
        .routes(routes!(totp_enrol))
        .routes(routes!(totp_confirm))
        .routes(routes!(totp_disable))
        .routes(routes!(me))
}

/// The answer that starts a session: the body, and the cookie for browsers.
fn session_started(
    state: &AppState,
    jar: CookieJar,
    session: SessionResponse,
    status: StatusCode,
) -> Response {
    let cookie = session_cookie(
        session.token.clone(),
        state.config.session_ttl_days,
        state.config.secure_cookies,
    );
    (status, jar.add(cookie), Json(session)).into_response()
}

/// Creates an account (or turns the caller's guest account into one).
#[utoipa::path(
    post,
    path = "/api/auth/signup",
    tag = "auth",
    request_body = SignupRequest,
    responses(
        (status = 201, description = "The account and its session; a guest signing up keeps their carts", body = SessionResponse, headers(("set-cookie" = String, description = "The HttpOnly session cookie `cartroom_session`"))),
        (status = 409, description = "`email_taken`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many new accounts from this address", body = ErrorBody),
    ),
    security((), ("session_bearer" = []), ("session_cookie" = [])),
)]
async fn signup(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<Throttles>>,
    ClientAddr(client): ClientAddr,
    current: Option<SignedIn>,
    jar: CookieJar,
    AppJson(body): AppJson<SignupRequest>,
) -> Result<Response, AppError> {
    throttles.new_account(client)?;
    let current = current.map(|c| c.session);
    let session = state
        .services
        .accounts
        .sign_up(current.as_ref(), body)
        .await?;
    Ok(session_started(&state, jar, session, StatusCode::CREATED))
}

/// Signs in with e-mail and password (and a code with two-factor sign-in on).
#[utoipa::path(
    post,
    path = "/api/auth/signin",
    tag = "auth",
    request_body = SigninRequest,
    responses(
        (status = 200, description = "The session", body = SessionResponse, headers(("set-cookie" = String, description = "The HttpOnly session cookie `cartroom_session`"))),
        (status = 401, description = "`bad_credentials`, `totp_required`, `totp_invalid` or `totp_replayed`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
)]
async fn signin(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<Throttles>>,
    ClientAddr(client): ClientAddr,
    jar: CookieJar,
    AppJson(body): AppJson<SigninRequest>,
) -> Result<Response, AppError> {
    throttles.signin(client, &normalize_email(&body.email))?;
    let session = state.services.accounts.sign_in(body).await?;
    Ok(session_started(&state, jar, session, StatusCode::OK))
}

/// Starts a guest session.
#[utoipa::path(
    post,
    path = "/api/auth/guest",
    tag = "auth",
    request_body(content = Option<GuestRequest>, description = "Optional: the guest's display name"),
    responses(
        (status = 201, description = "A guest account and its session", body = SessionResponse, headers(("set-cookie" = String, description = "The HttpOnly session cookie `cartroom_session`"))),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
)]
async fn guest(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<Throttles>>,
    ClientAddr(client): ClientAddr,
    jar: CookieJar,
    body: Option<AppJson<GuestRequest>>,
) -> Result<Response, AppError> {
    throttles.new_account(client)?;
    let body = body.map(|AppJson(b)| b).unwrap_or_default();
    let session = state.services.accounts.guest(body).await?;
    Ok(session_started(&state, jar, session, StatusCode::CREATED))
}

/// Ends the session.
#[utoipa::path(
    post,
    path = "/api/auth/signout",
    tag = "auth",
    responses((status = 204, description = "The session is over; the cookie is cleared")),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn signout(
    State(state): State<AppState>,
    signed_in: SignedIn,
    jar: CookieJar,
) -> Result<Response, AppError> {
    state.services.accounts.sign_out(&signed_in.session).await?;
    Ok((
        StatusCode::NO_CONTENT,
        jar.remove(cleared_cookie(state.config.secure_cookies)),
    )
        .into_response())
}

/// The signed-in user.
#[utoipa::path(
    get,
    path = "/api/me",
    tag = "auth",
    responses(
        (status = 200, description = "The signed-in user", body = MeResponse),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn me(signed_in: SignedIn) -> Json<MeResponse> {
    Json(MeResponse {
        user: signed_in.session.user,
    })
}

/// The sign-in throttle's key for a signed-in account's code attempts:
/// its e-mail, as a sign-in would use.
fn throttle_key(signed_in: &SignedIn) -> String {
    let user = &signed_in.session.user;
    user.email
        .as_deref()
        .map_or_else(|| user.id.to_string(), normalize_email)
}

/// Whether the account has two-factor sign-in on.
#[utoipa::path(
    get,
    path = "/api/auth/totp",
    tag = "auth",
    responses((status = 200, description = "Whether two-factor sign-in is on", body = TotpStatus)),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn totp_status(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<TotpStatus>, AppError> {
    let enabled = state.services.totp.is_on(signed_in.session.user.id).await?;
    Ok(Json(TotpStatus { enabled }))
}

/// Starts turning two-factor sign-in on: a new secret and its QR code.
#[utoipa::path(
    post,
    path = "/api/auth/totp/enrol",
    tag = "auth",
    responses(
        (status = 200, description = "A fresh secret, pending until confirmed", body = TotpEnrolResponse),
        (status = 409, description = "`totp_state`: two-factor sign-in is already on", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn totp_enrol(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<TotpEnrolResponse>, AppError> {
    let enrolment = state.services.totp.enrol(&signed_in.session.user).await?;
    Ok(Json(enrolment))
}

/// Turns two-factor sign-in on with a code of the pending secret.
#[utoipa::path(
    post,
    path = "/api/auth/totp/confirm",
    tag = "auth",
    request_body = TotpConfirmRequest,
    responses(
        (status = 200, description = "Two-factor sign-in is on; the recovery codes, shown once", body = TotpConfirmResponse),
        (status = 401, description = "`totp_invalid`", body = ErrorBody),
        (status = 409, description = "`totp_state`: nothing pending", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn totp_confirm(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<Throttles>>,
    ClientAddr(client): ClientAddr,
    signed_in: SignedIn,
    AppJson(body): AppJson<TotpConfirmRequest>,
) -> Result<Json<TotpConfirmResponse>, AppError> {
    throttles.signin(client, &throttle_key(&signed_in))?;
    let codes = state
        .services
        .totp
        .confirm(&signed_in.session.user, &body.code)
        .await?;
    Ok(Json(codes))
}

/// Turns two-factor sign-in off with a code or a recovery code.
#[utoipa::path(
    post,
    path = "/api/auth/totp/disable",
    tag = "auth",
    request_body = TotpDisableRequest,
    responses(
        (status = 204, description = "Two-factor sign-in is off"),
        (status = 401, description = "`totp_invalid`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn totp_disable(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<Throttles>>,
    ClientAddr(client): ClientAddr,
    signed_in: SignedIn,
    AppJson(body): AppJson<TotpDisableRequest>,
) -> Result<StatusCode, AppError> {
    throttles.signin(client, &throttle_key(&signed_in))?;
    state
        .services
        .totp
        .disable(&signed_in.session.user, &body)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
