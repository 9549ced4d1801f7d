//! Accounts and sessions: sign-up (a guest who signs up keeps its id and
//! carts), sign-in (one answer, in the same time, whether or not the
//! account exists), guests, sign-out. How often a client may try is the
//! HTTP edge's business (`http::throttle`).

use std::sync::Arc;

use cartroom_protocol::http::{GuestRequest, SessionResponse, SigninRequest, SignupRequest, User};
use cartroom_protocol::{ErrorCode, UserId};

use super::error::Result;
use super::live::LiveConnections;
use super::totp::{SecondFactor, TotpService};
use crate::auth::password::{hash_password, verify_password};
use crate::auth::token::{new_token, token_hash};
use crate::clock::Clock;
use crate::refusal::Refusal;
use crate::store::{Accounts, Sessions};
use crate::text;

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 60;

/// What a sign-in verifies the password against when there is no hash to
/// verify (no such e-mail, or an account without a password): an argon2id
/// hash with the parameters `hash_password` uses, of a password nobody
/// has, so that both answers cost one verification and take as long.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$Y2FydHJvb20tZHVtbXkhIQ$8Mj9OQlQs7jdnZ11CIQQ2SoI8UH8B9Kq4l9Vkd0PGJQ";

/// A signed-in request's session.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: User,
    /// What the store knows the session by.
    pub token_hash: String,
}

/// Accounts and sessions.
pub struct AccountService {
    accounts: Arc<dyn Accounts>,
    sessions: Arc<dyn Sessions>,
    clock: Arc<dyn Clock>,
    session_ttl_ms: i64,
    live: Arc<LiveConnections>,
    /// The second factor of accounts that turned it on.
    totp: Arc<TotpService>,
}

impl AccountService {
    pub fn new(
        accounts: Arc<dyn Accounts>,
        sessions: Arc<dyn Sessions>,
        clock: Arc<dyn Clock>,
        session_ttl_ms: i64,
        live: Arc<LiveConnections>,
        totp: Arc<TotpService>,
    ) -> Self {
        Self {
            accounts,
            sessions,
            clock,
            session_ttl_ms,
            live,
            totp,
        }
    }

    /// Creates an account. Signed in as a guest, the guest becomes the
    /// account (same id, so it keeps its carts).
    pub async fn sign_up(
        &self,
        current: Option<&Session>,
        req: SignupRequest,
    ) -> Result<SessionResponse> {
        let (email, name) = validate_signup(&req.email, &req.password, &req.name)?;
        let hash = hash_password(req.password)
            .await
            .map_err(|e| Refusal::new(ErrorCode::Internal, e.to_string()))?;
        let taken = || {
            Refusal::new(
                ErrorCode::EmailTaken,
                "an account with this e-mail exists; sign in instead",
            )
        };
        let user = match current.filter(|s| s.user.guest) {
            Some(guest) => {
                let id = guest.user.id;
                if !self
                    .accounts
                    .upgrade_guest(id, &email, &name, &hash)
                    .await?
                {
                    return Err(taken().into());
                }
                User {
                    id,
                    email: Some(email),
                    name,
                    guest: false,
                }
            }
            None => {
                let user = User {
                    id: UserId::new_random(),
                    email: Some(email),
                    name,
                    guest: false,
                };
                let now = self.clock.now_ms();
                if !self.accounts.insert_user(&user, Some(&hash), now).await? {
                    return Err(taken().into());
                }
                user
            }
        };
        self.start_session(user).await
    }

    /// Starts a session for the right e-mail and password. Every wrong pair
    /// gets the same answer after one password verification, so that
    /// neither the answer nor its timing tells whether the e-mail has an
    /// account. With the right password, an account with two-factor
    /// sign-in on also needs a code (`totp_required` without one).
    pub async fn sign_in(&self, req: SigninRequest) -> Result<SessionResponse> {
        let email = normalize_email(&req.email);
        let (user, hash) = match self.accounts.user_by_email(&email).await? {
            Some((user, Some(hash))) => (Some(user), hash),
            _ => (None, DUMMY_HASH.to_owned()),
        };
        let matches = check_password(req.password, hash).await;
        match user {
            Some(user) if matches => {
                let factor = SecondFactor {
                    code: req.code.as_deref(),
                    recovery_code: req.recovery_code.as_deref(),
                };
                self.totp.verify(user.id, factor).await?;
                self.start_session(user).await
            }
            _ => Err(Refusal::new(ErrorCode::BadCredentials, "wrong e-mail or password").into()),
        }
    }

    /// An account without e-mail or password.
    pub async fn guest(&self, req: GuestRequest) -> Result<SessionResponse> {
        let name = match req.name {
            Some(name) => {
                validate_display_name(&name)?;
                name.trim().to_owned()
            }
            None => format!("Guest {}", rand::random_range(1000..10000)),
        };
        let user = User {
            id: UserId::new_random(),
            email: None,
            name,
            guest: true,
        };
        self.accounts
            .insert_user(&user, None, self.clock.now_ms())
            .await?;
        self.start_session(user).await
    }

    /// Ends the session and every live connection opened with it.
    pub async fn sign_out(&self, session: &Session) -> Result<()> {
        self.sessions.delete_session(&session.token_hash).await?;
        self.live.end_session(&session.token_hash);
        Ok(())
    }

    /// The session a token stands for, if it is known and unexpired.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Session>> {
        let hash = token_hash(token);
        let user = self
            .sessions
            .session_user(&hash, self.clock.now_ms())
            .await?;
        Ok(user.map(|user| Session {
            user,
            token_hash: hash,
        }))
    }

    /// Forgets expired sessions; returns how many.
    pub async fn forget_expired_sessions(&self) -> Result<u64> {
        Ok(self
            .sessions
            .delete_expired_sessions(self.clock.now_ms())
            .await?)
    }

    /// A new session for `user`, whose identity another use case has
    /// checked (a password-reset link). An e-mail is not a second factor:
    /// an account with TOTP on gets `totp_required` and signs in with its
    /// new password and a code.
    pub async fn session_for(&self, user: User) -> Result<SessionResponse> {
        if self.totp.is_on(user.id).await? {
            return Err(Refusal::new(
                ErrorCode::TotpRequired,
                "password changed; sign in with it and the code of your authenticator app",
            )
            .into());
        }
        self.start_session(user).await
    }

    async fn start_session(&self, user: User) -> Result<SessionResponse> {
        let token = new_token();
        let now = self.clock.now_ms();
        let expires_at = now + self.session_ttl_ms;
        self.sessions
            .insert_session(&token_hash(&token), user.id, now, expires_at)
            .await?;
        Ok(SessionResponse {
            user,
            token,
            expires_at,
        })
    }
}

/// One password verification (argon2id, slow on purpose), counted in
/// `cartroom_password_verifications_total`.
async fn check_password(password: String, hash: String) -> bool {
    metrics::counter!("cartroom_password_verifications_total").increment(1);
    verify_password(password, hash).await
}

/// An e-mail address as accounts are stored and looked up by.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Normalizes and checks sign-up fields: (e-mail, name).
fn validate_signup(email: &str, password: &str, name: &str) -> Result<(String, String), Refusal> {
    let email = valid_email(email)?;
    valid_password(password)?;
    let name = name.trim().to_owned();
    validate_display_name(&name)?;
    Ok((email, name))
}

/// An e-mail address as accounts take it, wherever one is given (sign-up,
/// invitations, offers, password reset): 3..=254 bytes with one `@`, not
/// at either end, no spaces or control characters, and one an e-mail can
/// be sent to (lettre's reading of RFC 5321: no `<x>@`, no local part over
/// 64 bytes); lower-cased.
pub fn valid_email(email: &str) -> Result<String, Refusal> {
    let email = normalize_email(email);
    let ok = (3..=254).contains(&email.len())
        && email.matches('@').count() == 1
        && !email.starts_with('@')
        && !email.ends_with('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.parse::<lettre::Address>().is_ok();
    if !ok {
        return Err(Refusal::new(
            ErrorCode::InvalidField,
            "enter a valid e-mail address",
        ));
    }
    Ok(email)
}

/// A new password, at sign-up or reset: 8..=128 characters, not only spaces.
pub fn valid_password(password: &str) -> Result<(), Refusal> {
    let invalid = |m: &str| Refusal::new(ErrorCode::InvalidField, m);
    if !(8..=128).contains(&password.chars().count()) {
        return Err(invalid("a password has 8 to 128 characters"));
    }
    if password.trim().is_empty() {
        return Err(invalid("a password cannot be only spaces"));
    }
    Ok(())
}

/// Checks a display name: 1 to 60 characters once trimmed, none that could
/// disguise an activity line.
fn validate_display_name(name: &str) -> Result<(), Refusal> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Refusal::new(
            ErrorCode::InvalidField,
            format!("a name has 1 to {MAX_DISPLAY_NAME_CHARS} characters"),
        ));
    }
    text::check_line("a name", name, MAX_DISPLAY_NAME_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(validate_signup("a@b", "longenough", "Ana\u{202E}").is_err());
        assert!(validate_signup("a@b", "longenough", &"n".repeat(61)).is_err());
        let long_local = format!("{}@ex.com", "x".repeat(65));
        for address in [
            "<x>@ex.com",
            &long_local,
            "nul\u{0}x@ex.com",
            "tab\tx@ex.com",
            "a b@ex.com",
            "@ex.com",
            "a@@b",
        ] {
            assert!(
                validate_signup(address, "longenough", "Ana").is_err(),
                "{address:?}"
            );
        }
        assert!(validate_signup("a@b", &" ".repeat(8), "Ana").is_err());
    }

    #[tokio::test]
    async fn the_dummy_hash_costs_what_a_real_one_does() {
        use argon2::password_hash::PasswordHash;
        let real = hash_password("correct horse".into()).await.unwrap();
        let real = PasswordHash::new(&real).unwrap();
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        assert_eq!(
            dummy.hash.map(|h| h.len()),
            real.hash.map(|h| h.len()),
            "same output length"
        );
        assert!(!verify_password("correct horse".into(), DUMMY_HASH.into()).await);
    }
}
