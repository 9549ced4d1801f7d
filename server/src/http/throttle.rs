//! How often a client may ask for what is costly or tells something:
//! sign-ins (password guessing, e-mail probing), new accounts, member
//! additions (e-mail probing) and ops sent over HTTP (the WebSocket limits
//! its own). Each limit is a keyed `governor` limiter that forgets idle keys
//! once it holds many, so memory stays bounded; past a limit the answer is
//! `429 rate_limited` and nothing is done.
//!
//! Limits per address see the socket's peer: behind a reverse proxy that is
//! the proxy, and the `--*-per-ip` flags must be raised.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;

use cartroom_protocol::{ErrorCode, UserId};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::error::AppError;
use crate::config::Config;

/// Sign-in attempts on one e-mail from one address a minute: the strict
/// limit against guessing. Someone else's attempts, from elsewhere, do not
/// use it up, so they cannot lock the owner out.
pub const SIGNINS_PER_EMAIL_AND_IP_PER_MINUTE: u32 = 10;
/// Sign-in attempts on one e-mail from all addresses together a minute: a
/// much higher bound, against guessing spread over many addresses.
pub const SIGNINS_PER_EMAIL_PER_MINUTE: u32 = 100;
/// Keys a limiter holds before it forgets those that are idle again.
const MAX_KEYS: usize = 100_000;

/// Every request limit of the HTTP API.
pub struct Throttles {
    signins_per_ip: Limit<IpAddr>,
    signins_per_email_and_ip: Limit<(String, IpAddr)>,
    signins_per_email: Limit<String>,
    /// Sign-ups and guests: one budget per address.
    accounts_per_ip: Limit<IpAddr>,
    member_additions: Limit<UserId>,
    ops: Limit<UserId>,
}

impl Throttles {
    pub fn new(config: &Config) -> Self {
        let signin = "too many sign-in attempts; wait a minute";
        Self {
            signins_per_ip: Limit::new(
                "signin_ip",
                Quota::per_minute(non_zero(config.signins_per_minute_per_ip)),
                signin,
            ),
            signins_per_email_and_ip: Limit::new(
                "signin_email_ip",
                Quota::per_minute(non_zero(SIGNINS_PER_EMAIL_AND_IP_PER_MINUTE)),
                signin,
            ),
            signins_per_email: Limit::new(
                "signin_email",
                Quota::per_minute(non_zero(SIGNINS_PER_EMAIL_PER_MINUTE)),
                signin,
            ),
            accounts_per_ip: Limit::new(
                "accounts_ip",
                Quota::per_hour(non_zero(config.accounts_per_hour_per_ip)),
                "too many new accounts from this address; try again later",
            ),
            member_additions: Limit::new(
                "member_additions",
                Quota::per_hour(non_zero(config.member_additions_per_hour)),
                "too many members added; try again later",
            ),
            ops: Limit::new(
                "http_ops",
                Quota::per_second(non_zero(config.http_ops_per_second))
                    .allow_burst(non_zero(config.http_ops_per_second.saturating_mul(2))),
                "slow down: too many ops a second",
            ),
        }
    }

    /// A sign-in attempt on `email` (normalized) from `client`: within the
    /// address's limit, then the (e-mail, address) limit, then the
    /// e-mail's. An attempt refused by one limit does not count against the
    /// next, so an attacker stopped at its own address does not use up the
    /// e-mail's budget.
    pub fn signin(&self, client: IpAddr, email: &str) -> Result<(), AppError> {
        self.signins_per_ip.check(&client)?;
        self.signins_per_email_and_ip
            .check(&(email.to_owned(), client))?;
        self.signins_per_email.check(&email.to_owned())
    }

    /// A sign-up or a new guest from `client`.
    pub fn new_account(&self, client: IpAddr) -> Result<(), AppError> {
        self.accounts_per_ip.check(&client)
    }

    /// `user` adds a member to a cart.
    pub fn member_addition(&self, user: UserId) -> Result<(), AppError> {
        self.member_additions.check(&user)
    }

    /// `user` sends an op over HTTP.
    pub fn op(&self, user: UserId) -> Result<(), AppError> {
        self.ops.check(&user)
    }
}

/// At least one: a quota of zero would refuse everything.
pub(super) fn non_zero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// One keyed limit and how it answers when reached.
pub(super) struct Limit<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    /// The `limit` label of `cartroom_http_rate_limited_total`.
    name: &'static str,
    message: &'static str,
}

impl<K: Hash + Eq + Clone> Limit<K> {
    pub(super) fn new(name: &'static str, quota: Quota, message: &'static str) -> Self {
        Self {
            limiter: RateLimiter::keyed(quota),
            name,
            message,
        }
    }

    pub(super) fn check(&self, key: &K) -> Result<(), AppError> {
        let allowed = self.limiter.check_key(key).is_ok();
        if self.limiter.len() > MAX_KEYS {
            self.limiter.retain_recent();
        }
        if allowed {
            return Ok(());
        }
        metrics::counter!("cartroom_http_rate_limited_total", "limit" => self.name).increment(1);
        Err(AppError::new(ErrorCode::RateLimited, self.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttles() -> Throttles {
        let mut config = Config::for_data_dir("unused");
        config.signins_per_minute_per_ip = 1000;
        Throttles::new(&config)
    }

    #[test]
    fn an_attacker_does_not_use_up_the_owner_s_sign_ins() {
        let throttles = throttles();
        let attacker: IpAddr = "203.0.113.7".parse().unwrap();
        let owner: IpAddr = "198.51.100.2".parse().unwrap();
        for _ in 0..SIGNINS_PER_EMAIL_AND_IP_PER_MINUTE {
            throttles.signin(attacker, "ana@example.com").unwrap();
        }
        // The attacker goes on and is refused, many times over...
        for _ in 0..SIGNINS_PER_EMAIL_PER_MINUTE {
            let refused = throttles.signin(attacker, "ana@example.com").unwrap_err();
            assert_eq!(refused.code, ErrorCode::RateLimited);
        }
        // ...without using up the e-mail's budget: the owner still signs in.
        throttles.signin(owner, "ana@example.com").unwrap();
        // And the attacker may still try other e-mails.
        throttles.signin(attacker, "ben@example.com").unwrap();
    }

    #[test]
    fn guessing_from_many_addresses_meets_the_e_mail_s_limit() {
        let throttles = throttles();
        let mut refused = 0;
        for i in 0..=SIGNINS_PER_EMAIL_PER_MINUTE {
            let client = IpAddr::from([10, 0, (i / 256) as u8, (i % 256) as u8]);
            if throttles.signin(client, "ana@example.com").is_err() {
                refused += 1;
            }
        }
        assert_eq!(refused, 1, "the e-mail's limit is reached after 100 tries");
    }
}
