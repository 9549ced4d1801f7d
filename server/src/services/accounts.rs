//! Accounts and sessions: sign-up (a guest who signs up keeps its id and
//! carts), sign-in (rate limited per e-mail), guests, sign-out.

use std::num::NonZeroU32;
use std::sync::Arc;

use cartroom_protocol::http::{GuestRequest, SessionResponse, SigninRequest, SignupRequest, User};
use cartroom_protocol::{ErrorCode, UserId};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::error::Result;
use super::live::LiveConnections;
use crate::auth::password::{hash_password, verify_password};
use crate::auth::token::{new_token, token_hash};
use crate::clock::Clock;
use crate::refusal::Refusal;
use crate::store::{Accounts, Sessions};

/// Sign-in attempts allowed per e-mail: 10 at once, then one every 6 s.
const SIGNIN_PER_MINUTE: u32 = 10;
/// Keys the sign-in limiter holds before it forgets idle ones.
const SIGNIN_KEYS: usize = 100_000;

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
    /// Sign-in attempts per e-mail, against password guessing.
    signin_limiter: DefaultKeyedRateLimiter<String>,
    live: Arc<LiveConnections>,
}

impl AccountService {
    pub fn new(
        accounts: Arc<dyn Accounts>,
        sessions: Arc<dyn Sessions>,
        clock: Arc<dyn Clock>,
        session_ttl_ms: i64,
        live: Arc<LiveConnections>,
    ) -> Self {
        let quota = Quota::per_minute(NonZeroU32::new(SIGNIN_PER_MINUTE).expect("non-zero"));
        Self {
            accounts,
            sessions,
            clock,
            session_ttl_ms,
            signin_limiter: RateLimiter::keyed(quota),
            live,
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

    pub async fn sign_in(&self, req: SigninRequest) -> Result<SessionResponse> {
        let email = req.email.trim().to_lowercase();
        if self.signin_limiter.check_key(&email).is_err() {
            return Err(Refusal::new(
                ErrorCode::RateLimited,
                "too many sign-in attempts; wait a minute",
            )
            .into());
        }
        if self.signin_limiter.len() > SIGNIN_KEYS {
            self.signin_limiter.retain_recent();
        }
        let bad = || Refusal::new(ErrorCode::BadCredentials, "wrong e-mail or password");
        let Some((user, Some(hash))) = self.accounts.user_by_email(&email).await? else {
            return Err(bad().into());
        };
        if !verify_password(req.password, hash).await {
            return Err(bad().into());
        }
        self.start_session(user).await
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

/// Normalizes and checks sign-up fields: (e-mail, name).
fn validate_signup(email: &str, password: &str, name: &str) -> Result<(String, String), Refusal> {
    let email = email.trim().to_lowercase();
    let name = name.trim().to_owned();
    let invalid = |m: &str| Refusal::new(ErrorCode::InvalidField, m);
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
fn validate_display_name(name: &str) -> Result<(), Refusal> {
    let chars = name.trim().chars().count();
    if !(1..=60).contains(&chars) {
        return Err(Refusal::new(
            ErrorCode::InvalidField,
            "a name has 1 to 60 characters",
        ));
    }
    Ok(())
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
    }
}
