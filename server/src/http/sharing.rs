//! Sharing (`docs/protocol.md` section 11): a cart's invitations and share
//! links for its admins; `/api/invites/*` for whoever holds a token; the
//! password-reset e-mail and its link; and `/dev/mailbox`, the page of the
//! dev mailbox (only when no SMTP server is configured, and only for
//! loopback clients: the e-mails hold live links).
//!
//! Tokens travel in JSON bodies, never in a path or query, so that no
//! access log holds one. Every request that carries a token is throttled
//! per client address; invitations (each sends an e-mail) count against the
//! member additions of their admin.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router, extract::FromRequestParts};
use axum_extra::extract::CookieJar;
use cartroom_protocol::ErrorCode;
use cartroom_protocol::sharing::{
    AcceptResponse, CreatedLink, Invitation, InvitationId, InvitationsResponse, InvitePreview,
    InviteRequest, LinkId, LinkRequest, LinksResponse, ResetConfirmRequest, ResetRequest,
    ShareLink, TokenRequest,
};
use governor::Quota;

use super::error::AppError;
use super::extract::{AppJson, CartAccess, ClientAddr, MayManageMembers, SignedIn, path_param};
use super::session::session_cookie;
use super::throttle::{Limit, Throttles, non_zero};
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

pub fn routes(state: &AppState) -> Router<AppState> {
    let router = Router::new()
        .route(
            "/api/carts/{id}/invitations",
            get(list_invitations).post(invite),
        )
        .route(
            "/api/carts/{id}/invitations/{invitation_id}",
            delete(revoke_invitation),
        )
        .route(
            "/api/carts/{id}/invitations/{invitation_id}/resend",
            post(resend_invitation),
        )
        .route("/api/carts/{id}/links", get(list_links).post(create_link))
        .route("/api/carts/{id}/links/{link_id}", delete(revoke_link))
        .route("/api/invites/lookup", post(lookup))
        .route("/api/invites/accept", post(accept))
        .route("/api/invites/decline", post(decline))
        .route("/api/auth/password-reset", post(request_reset))
        .route("/api/auth/password-reset/confirm", post(confirm_reset));
    if state.dev_mailbox.is_some() {
        router.route("/dev/mailbox", get(dev_mailbox))
    } else {
        router
    }
}

/// The route's `{name}` parsed as `T`; `not_found` when it is not one.
struct Target<T>(T);

trait TargetParam: std::str::FromStr {
    const PARAM: &'static str;
    const WHAT: &'static str;
}

impl TargetParam for InvitationId {
    const PARAM: &'static str = "invitation_id";
    const WHAT: &'static str = "no such invitation";
}

impl TargetParam for LinkId {
    const PARAM: &'static str = "link_id";
    const WHAT: &'static str = "no such share link";
}

impl<T: TargetParam + Send, S: Send + Sync> FromRequestParts<S> for Target<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        path_param(parts, T::PARAM)
            .await?
            .and_then(|id| id.parse().ok())
            .map(Self)
            .ok_or_else(|| AppError::new(ErrorCode::NotFound, T::WHAT))
    }
}

async fn invite(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<Throttles>>,
    access: CartAccess<MayManageMembers>,
    AppJson(body): AppJson<InviteRequest>,
) -> Result<(StatusCode, Json<Invitation>), AppError> {
    throttles.member_addition(access.signed_in.session.user.id)?;
    let invitation = state
        .services
        .sharing
        .invite(access.cart, &access.actor(), body)
        .await?;
    Ok((StatusCode::CREATED, Json(invitation)))
}

async fn list_invitations(
    State(state): State<AppState>,
    access: CartAccess<MayManageMembers>,
) -> Result<Json<InvitationsResponse>, AppError> {
    let invitations = state.services.sharing.invitations(access.cart).await?;
    Ok(Json(InvitationsResponse { invitations }))
}

async fn resend_invitation(
    State(state): State<AppState>,
    Extension(throttles): Extension<Arc<Throttles>>,
    access: CartAccess<MayManageMembers>,
    Target(id): Target<InvitationId>,
) -> Result<Json<Invitation>, AppError> {
    throttles.member_addition(access.signed_in.session.user.id)?;
    let invitation = state
        .services
        .sharing
        .resend(access.cart, &access.actor(), id)
        .await?;
    Ok(Json(invitation))
}

async fn revoke_invitation(
    State(state): State<AppState>,
    access: CartAccess<MayManageMembers>,
    Target(id): Target<InvitationId>,
) -> Result<Json<Invitation>, AppError> {
    let invitation = state
        .services
        .sharing
        .revoke(access.cart, &access.actor(), id)
        .await?;
    Ok(Json(invitation))
}

async fn create_link(
    State(state): State<AppState>,
    access: CartAccess<MayManageMembers>,
    AppJson(body): AppJson<LinkRequest>,
) -> Result<(StatusCode, Json<CreatedLink>), AppError> {
    let link = state
        .services
        .sharing
        .create_link(access.cart, &access.actor(), body)
        .await?;
    Ok((StatusCode::CREATED, Json(link)))
}

async fn list_links(
    State(state): State<AppState>,
    access: CartAccess<MayManageMembers>,
) -> Result<Json<LinksResponse>, AppError> {
    let links = state.services.sharing.links(access.cart).await?;
    Ok(Json(LinksResponse { links }))
}

async fn revoke_link(
    State(state): State<AppState>,
    access: CartAccess<MayManageMembers>,
    Target(id): Target<LinkId>,
) -> Result<Json<ShareLink>, AppError> {
    let link = state
        .services
        .sharing
        .revoke_link(access.cart, &access.actor(), id)
        .await?;
    Ok(Json(link))
}

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
