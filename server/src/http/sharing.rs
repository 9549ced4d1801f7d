//! Sharing (`docs/protocol.md` section 11): `/api/invites/*` for whoever
//! holds a token (a cart's admins make them in [`super::invitations`]); the
//! password-reset e-mail and its link; and `/dev/mailbox`, the page of the
//! dev mailbox (only when no SMTP server is configured, and only for
//! loopback clients: the e-mails hold live links).
//!
//! Tokens travel in JSON bodies, never in a path or query, so that no
//! access log holds one. Every request that carries a token is throttled
//! per client address.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Json};
use axum_extra::extract::CookieJar;
use cartroom_protocol::ErrorCode;
use cartroom_protocol::http::{ErrorBody, SessionResponse};
use cartroom_protocol::sharing::{
    AcceptResponse, InvitePreview, ResetConfirmRequest, ResetRequest, TokenRequest,
};
use governor::Quota;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::AppError;
use super::extract::{AppJson, ClientAddr, SignedIn};
use super::session::session_cookie;
use super::throttle::{Limit, non_zero};
use crate::app::AppState;
use crate::mail::templates::{escape, utc_date_time};
use crate::services::accounts::normalize_email;

/// Password-reset e-mails one client address may ask for an hour.
pub const RESETS_PER_HOUR_PER_IP: u32 = 10;
/// Password-reset e-mails one address may be sent an hour.
pub const RESETS_PER_HOUR_PER_EMAIL: u32 = 3;

/// The limits of the sharing endpoints.
pub struct SharingThrottles {
    /// Lookups, accepts, declines and reset confirmations, per address.
    token_attempts: Limit<IpAddr>,
    reset_requests: Limit<IpAddr>,
    resets_per_email: Limit<String>,
}

impl SharingThrottles {
    pub fn new(config: &crate::config::Config) -> Self {
        Self {
            token_attempts: Limit::new(
                "invite_attempts_ip",
                Quota::per_minute(non_zero(config.invite_attempts_per_minute_per_ip)),
                "too many invitation attempts from this address; wait a minute",
            ),
            reset_requests: Limit::new(
                "password_resets_ip",
                Quota::per_hour(non_zero(RESETS_PER_HOUR_PER_IP)),
                "too many password resets asked for from this address; try again later",
            ),
            resets_per_email: Limit::new(
                "password_resets_email",
                Quota::per_hour(non_zero(RESETS_PER_HOUR_PER_EMAIL)),
                "too many password resets asked for this e-mail; try again later",
            ),
        }
    }
}

impl SharingThrottles {
    /// One more token looked up or used from `client` (offers count with
    /// invitations and links).
    pub fn token_attempt(&self, client: &IpAddr) -> Result<(), AppError> {
        self.token_attempts.check(client)
    }
}

pub fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    let router = OpenApiRouter::new()
        .routes(routes!(lookup))
        .routes(routes!(accept))
        .routes(routes!(decline))
        .routes(routes!(request_reset))
        .routes(routes!(confirm_reset));
    // A dev tool, not the API: left out of the document.
    if state.dev_mailbox.is_some() {
        router.route("/dev/mailbox", axum::routing::get(dev_mailbox))
    } else {
        router
    }
}

/// What an invitation's or link's token invites to, without using it.
#[utoipa::path(
    post,
    path = "/api/invites/lookup",
    tag = "sharing",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "What the token invites to", body = InvitePreview),
        (status = 404, description = "`invite_not_found`", body = ErrorBody),
        (status = 409, description = "`invite_used_up`", body = ErrorBody),
        (status = 410, description = "`invite_expired` or `invite_revoked`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many token attempts from this address", body = ErrorBody),
    ),
)]
async fn lookup(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<SharingThrottles>>,
    ClientAddr(client): ClientAddr,
    AppJson(body): AppJson<TokenRequest>,
) -> Result<Json<InvitePreview>, AppError> {
    throttles.token_attempts.check(&client)?;
    Ok(Json(state.services.sharing.preview(&body.token).await?))
}

/// Joins with the token as the signed-in user (an account or a guest).
#[utoipa::path(
    post,
    path = "/api/invites/accept",
    tag = "sharing",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "The caller is a member of the cart", body = AcceptResponse),
        (status = 404, description = "`invite_not_found`", body = ErrorBody),
        (status = 409, description = "`invite_used_up`", body = ErrorBody),
        (status = 410, description = "`invite_expired` or `invite_revoked`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many token attempts from this address", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn accept(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<SharingThrottles>>,
    ClientAddr(client): ClientAddr,
    signed_in: SignedIn,
    AppJson(body): AppJson<TokenRequest>,
) -> Result<Json<AcceptResponse>, AppError> {
    throttles.token_attempts.check(&client)?;
    let answer = state
        .services
        .sharing
        .accept(&body.token, &signed_in.actor())
        .await?;
    Ok(Json(answer))
}

/// Declines an invitation; no session needed.
#[utoipa::path(
    post,
    path = "/api/invites/decline",
    tag = "sharing",
    request_body = TokenRequest,
    responses(
        (status = 204, description = "Declined"),
        (status = 404, description = "`invite_not_found`", body = ErrorBody),
        (status = 409, description = "`invite_used_up`", body = ErrorBody),
        (status = 410, description = "`invite_expired` or `invite_revoked`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many token attempts from this address", body = ErrorBody),
    ),
    security((), ("session_bearer" = []), ("session_cookie" = [])),
)]
async fn decline(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<SharingThrottles>>,
    ClientAddr(client): ClientAddr,
    signed_in: Option<SignedIn>,
    AppJson(body): AppJson<TokenRequest>,
) -> Result<StatusCode, AppError> {
    throttles.token_attempts.check(&client)?;
    let who = signed_in.map(|s| s.actor());
    state
        .services
        .sharing
        .decline(&body.token, who.as_ref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Asks for a reset e-mail; `202` whether or not the address has an account.
#[utoipa::path(
    post,
    path = "/api/auth/password-reset",
    tag = "auth",
    request_body = ResetRequest,
    responses(
        (status = 202, description = "An e-mail is on its way if the address has an account"),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
)]
async fn request_reset(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<SharingThrottles>>,
    ClientAddr(client): ClientAddr,
    AppJson(body): AppJson<ResetRequest>,
) -> Result<StatusCode, AppError> {
    throttles.reset_requests.check(&client)?;
    throttles
        .resets_per_email
        .check(&normalize_email(&body.email))?;
    state.services.password_reset.request(body).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Sets the new password and starts a session (body and cookie).
#[utoipa::path(
    post,
    path = "/api/auth/password-reset/confirm",
    tag = "auth",
    request_body = ResetConfirmRequest,
    responses(
        (status = 200, description = "The new password is set; a session", body = SessionResponse, headers(("set-cookie" = String, description = "The HttpOnly session cookie `cartroom_session`"))),
        (status = 404, description = "`invite_not_found`: no reset has that token", body = ErrorBody),
        (status = 410, description = "`invite_expired`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
)]
async fn confirm_reset(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<SharingThrottles>>,
    ClientAddr(client): ClientAddr,
    jar: CookieJar,
    AppJson(body): AppJson<ResetConfirmRequest>,
) -> Result<Response, AppError> {
    throttles.token_attempts.check(&client)?;
    let session = state
        .services
        .password_reset
        .confirm(&state.services.accounts, body)
        .await?;
    let cookie = session_cookie(
        session.token.clone(),
        state.config.session_ttl_days,
        state.config.secure_cookies,
    );
    Ok((StatusCode::OK, jar.add(cookie), Json(session)).into_response())
}

/// The dev mailbox, newest first, for loopback clients.
async fn dev_mailbox(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
) -> Result<Html<String>, AppError> {
    if !client.is_loopback() {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "the dev mailbox is for this machine only",
        ));
    }
    let Some(mailbox) = &state.dev_mailbox else {
        return Err(AppError::new(ErrorCode::NotFound, "no dev mailbox"));
    };
    let mails = mailbox.list().await.map_err(|e| {
        tracing::error!(error = %e, "reading the dev mailbox");
        AppError::new(ErrorCode::Unavailable, "the dev mailbox cannot be read")
    })?;
    let mut page = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Dev mailbox · Cartroom</title></head>\
         <body style=\"font-family: sans-serif; max-width: 50rem; margin: 2rem auto\">\
         <h1>Dev mailbox</h1>\
         <p>The e-mails this server sent. It has no <code>--smtp-url</code>, so they \
         are written under the data dir instead; newest first.</p>",
    );
    if mails.is_empty() {
        page.push_str("<p class=\"empty\">No e-mails yet.</p>");
    }
    for mail in mails {
        page.push_str(&format!(
            "<article class=\"mail\" data-to=\"{to}\" style=\"border: 1px solid #ccc; \
             border-radius: 8px; padding: 0 1rem; margin: 1rem 0\">\
             <h2 class=\"subject\">{subject}</h2>\
             <p>To <strong class=\"to\">{to}</strong> · {at}</p><div class=\"body\">{body}</div>\
             <details><summary>Text version</summary><pre style=\"white-space: pre-wrap\">{text}</pre>\
             </details></article>",
            to = escape(&mail.to),
            subject = escape(&mail.subject),
            at = utc_date_time(mail.at),
            body = body_of(&mail.html),
            text = escape(&mail.text),
        ));
    }
    page.push_str("</body></html>");
    Ok(Html(page))
}

/// What is inside the `<body>` of an e-mail the server wrote itself.
fn body_of(html: &str) -> &str {
    let Some(open) = html.find("<body") else {
        return html;
    };
    let Some(start) = html[open..].find('>').map(|i| open + i + 1) else {
        return html;
    };
    let end = html[start..]
        .find("</body>")
        .map_or(html.len(), |i| start + i);
    &html[start..end]
}
