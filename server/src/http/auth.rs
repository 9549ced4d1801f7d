//! `/api/auth/*` and `/api/me`: sessions start with the token in the body
//! and in the HttpOnly cookie. Sign-ins and new accounts are throttled per
//! client address ([`Throttles`]), and so are two-factor codes, whether
//! they come with a sign-in or confirm or disable TOTP.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router, routing::get, routing::post};
use axum_extra::extract::CookieJar;
use cartroom_protocol::http::{
    GuestRequest, MeResponse, SessionResponse, SigninRequest, SignupRequest, TotpConfirmRequest,
    TotpConfirmResponse, TotpDisableRequest, TotpEnrolResponse, TotpStatus,
};

use super::error::AppError;
use super::extract::{AppJson, ClientAddr, SignedIn};
use super::session::{cleared_cookie, session_cookie};
use super::throttle::Throttles;
use crate::app::AppState;
use crate::services::accounts::normalize_email;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/signup", post(signup))
        .route("/api/auth/signin", post(signin))
        .route("/api/auth/guest", post(guest))
        .route("/api/auth/signout", post(signout))
        .route("/api/auth/totp", get(totp_status))
        .route("/api/auth/totp/enrol", post(totp_enrol))
        .route("/api/auth/totp/confirm", post(totp_confirm))
        .route("/api/auth/totp/disable", post(totp_disable))
        .route("/api/me", get(me))
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

async fn totp_status(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<TotpStatus>, AppError> {
    let enabled = state.services.totp.is_on(signed_in.session.user.id).await?;
    Ok(Json(TotpStatus { enabled }))
}

async fn totp_enrol(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<TotpEnrolResponse>, AppError> {
    let enrolment = state.services.totp.enrol(&signed_in.session.user).await?;
    Ok(Json(enrolment))
}

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
