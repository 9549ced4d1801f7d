//! `/api/auth/*` and `/api/me`: sessions start with the token in the body
//! and in the HttpOnly cookie. Sign-ins and new accounts are throttled per
//! client address ([`Throttles`]).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router, routing::get, routing::post};
use axum_extra::extract::CookieJar;
use cartroom_protocol::http::{
    GuestRequest, MeResponse, SessionResponse, SigninRequest, SignupRequest,
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
