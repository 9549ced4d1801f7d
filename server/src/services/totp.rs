//! Two-factor sign-in with time-based one-time codes (RFC 6238 through
//! `totp-rs`: SHA-1, 6 digits, 30-second steps, one step of skew either
//! way), which any account may turn on and the store's staff are meant to.
//!
//! Enrolment stores a pending secret and answers it with its `otpauth://`
//! URI and a QR code; the first valid code turns it on and answers ten
//! single-use recovery codes, kept only as hashes. From then on a sign-in
//! needs the password and a code (or a recovery code). A code is accepted
//! once: the store keeps the last accepted time step and refuses that step
//! and earlier ones (`totp_replayed`). Time comes from the [`Clock`], so
//! tests move it by hand. How often a client may try is the HTTP edge's
//! business: code attempts go through the sign-in throttle.

use std::sync::Arc;

use cartroom_protocol::ErrorCode;
use cartroom_protocol::UserId;
use cartroom_protocol::http::{TotpConfirmResponse, TotpDisableRequest, TotpEnrolResponse, User};
use qrcode::QrCode;
use qrcode::render::svg;
use rand::Rng;
use totp_rs::{Algorithm, Builder, Secret, Totp};

use super::error::Result;
use crate::auth::token::token_hash;
use crate::clock::Clock;
use crate::refusal::Refusal;
use crate::store::TwoFactor;

/// The issuer authenticator apps show next to the account.
pub const ISSUER: &str = "Cartroom";
/// Recovery codes answered when TOTP is turned on.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code, without its dash.
const RECOVERY_CODE_CHARS: usize = 10;
/// What recovery codes are made of: no 0/o, 1/l/i to misread.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// Longest `code` or `recovery_code` looked at; longer is `invalid_field`.
pub const MAX_CODE_CHARS: usize = 64;
/// Secret length in bytes: the 160 bits RFC 4226 recommends.
const SECRET_BYTES: usize = 20;

/// TOTP enrolment and checks.
pub struct TotpService {
    store: Arc<dyn TwoFactor>,
    clock: Arc<dyn Clock>,
}

/// What a sign-in (or disabling) carries as its second factor.
#[derive(Clone, Copy, Debug, Default)]
pub struct SecondFactor<'a> {
    pub code: Option<&'a str>,
    pub recovery_code: Option<&'a str>,
}

impl TotpService {
    pub fn new(store: Arc<dyn TwoFactor>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// A fresh pending secret for a registered account, replacing a pending
    /// one; refused while TOTP is on.
    pub async fn enrol(&self, user: &User) -> Result<TotpEnrolResponse> {
        let Some(email) = user.email.as_deref().filter(|_| !user.guest) else {
            return Err(Refusal::new(ErrorCode::Forbidden, "sign up first").into());
        };
        let mut bytes = [0u8; SECRET_BYTES];
        rand::rng().fill(&mut bytes[..]);
        let secret = Secret::from(bytes.to_vec()).to_base32();
        let totp = build(&secret, email)?;
        let otpauth_uri = totp.to_url().map_err(internal)?;
        let qr_svg = QrCode::new(otpauth_uri.as_bytes())
            .map_err(internal)?
            .render::<svg::Color>()
            .min_dimensions(200, 200)
            .build();
        if !self
            .store
            .set_pending_totp(user.id, &secret, self.clock.now_ms())
            .await?
        {
            return Err(state("two-factor sign-in is on already; disable it first"));
        }
        Ok(TotpEnrolResponse {
            secret,
            otpauth_uri,
            qr_svg,
        })
    }

    /// Turns the pending enrolment on with a valid code; answers the
    /// recovery codes, which are never shown again.
    pub async fn confirm(&self, user: &User, code: &str) -> Result<TotpConfirmResponse> {
        let record = match self.store.totp(user.id).await? {
            Some(record) if !record.enabled => record,
            _ => return Err(state("no pending enrolment; enrol first")),
        };
        let step = self.check_code(&record.secret, code)?;
        let recovery_codes: Vec<String> =
            (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let hashes: Vec<String> = recovery_codes.iter().map(|c| recovery_hash(c)).collect();
        if !self.store.enable_totp(user.id, step, &hashes).await? {
            return Err(state("no pending enrolment; enrol first"));
        }
        Ok(TotpConfirmResponse { recovery_codes })
    }

    /// Turns TOTP off, given a current code or a recovery code.
    pub async fn disable(&self, user: &User, req: &TotpDisableRequest) -> Result<()> {
        let factor = SecondFactor {
            code: req.code.as_deref(),
            recovery_code: req.recovery_code.as_deref(),
        };
        if !self.is_on(user.id).await? {
            return Err(state("two-factor sign-in is not on"));
        }
        self.verify(user.id, factor).await?;
        self.store.disable_totp(user.id).await?;
        Ok(())
    }

    /// Whether the account has TOTP on.
    pub async fn is_on(&self, user: UserId) -> Result<bool> {
        Ok(self
            .store
            .totp(user)
            .await?
            .is_some_and(|record| record.enabled))
    }

    /// The second step of a sign-in whose password was right: nothing to
    /// do for an account without TOTP; otherwise a fresh code or an unused
    /// recovery code, or `totp_required`.
    pub async fn verify(&self, user: UserId, factor: SecondFactor<'_>) -> Result<()> {
        let Some(record) = self.store.totp(user).await?.filter(|r| r.enabled) else {
            return Ok(());
        };
        match (factor.code, factor.recovery_code) {
            (None, None) => Err(Refusal::new(
                ErrorCode::TotpRequired,
                "enter the code of your authenticator app",
            )
            .into()),
            (Some(_), Some(_)) => Err(Refusal::new(
                ErrorCode::InvalidField,
                "send a code or a recovery code, not both",
            )
            .into()),
            (Some(code), None) => {
                let step = self.check_code(&record.secret, code)?;
                if !self.store.use_totp_step(user, step).await? {
                    return Err(Refusal::new(
                        ErrorCode::TotpReplayed,
                        "this code was used already; wait for the next one",
                    )
                    .into());
                }
                Ok(())
            }
            (None, Some(recovery)) => {
                bounded(recovery)?;
                let used = self
                    .store
                    .use_recovery_code(user, &recovery_hash(recovery), self.clock.now_ms())
                    .await?;
                if !used {
                    return Err(invalid("wrong or used recovery code"));
                }
                Ok(())
            }
        }
    }

    /// The time step `code` is valid for (now, or one step either side).
    fn check_code(&self, secret: &str, code: &str) -> Result<i64> {
        bounded(code)?;
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("a code has 6 digits"));
        }
        let totp = build(secret, "")?;
        let now_secs = u64::try_from(self.clock.now_ms() / 1000).unwrap_or(0);
        let step = totp
            .check(&code, now_secs)
            .ok_or_else(|| invalid("wrong code"))?;
        i64::try_from(step).map_err(internal)
    }
}

/// The one TOTP configuration of the server, over a stored secret.
fn build(secret: &str, account: &str) -> Result<Totp> {
    let bytes = Secret::try_from_base32(secret).map_err(internal)?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(bytes)
        .with_issuer(Some(ISSUER))
        // A colon would end the label's account part early.
        .with_account_name(account.replace(':', "_"))
        .build()
        .map_err(internal)
}

/// `xxxxx-xxxxx` from [`RECOVERY_ALPHABET`]: about 49 bits.
fn new_recovery_code() -> String {
    let mut rng = rand::rng();
    let chars: String = (0..RECOVERY_CODE_CHARS)
        .map(|_| RECOVERY_ALPHABET[rng.random_range(0..RECOVERY_ALPHABET.len())] as char)
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// What is stored for a recovery code: the hash of its letters and digits,
/// lower-cased, so that dashes, spaces and case do not matter.
fn recovery_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    token_hash(&normal)
}

fn bounded(code: &str) -> Result<(), Refusal> {
    if code.chars().count() > MAX_CODE_CHARS {
        return Err(Refusal::new(
            ErrorCode::InvalidField,
            format!("a code has at most {MAX_CODE_CHARS} characters"),
        ));
    }
    Ok(())
}

fn invalid(message: &str) -> super::ServiceError {
    Refusal::new(ErrorCode::TotpInvalid, message).into()
}

fn state(message: &str) -> super::ServiceError {
    Refusal::new(ErrorCode::TotpState, message).into()
}

fn internal(e: impl std::fmt::Display) -> super::ServiceError {
    Refusal::new(ErrorCode::Internal, e.to_string()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::memory::MemoryStore;

    fn factor(code: &str) -> SecondFactor<'_> {
        SecondFactor {
            code: Some(code),
            recovery_code: None,
        }
    }

    #[test]
    fn recovery_codes_ignore_dashes_and_case() {
        let code = new_recovery_code();
        assert_eq!(code.len(), RECOVERY_CODE_CHARS + 1);
        assert_eq!(
            recovery_hash(&code),
            recovery_hash(&code.replace('-', " ").to_uppercase())
        );
        assert_ne!(recovery_hash(&code), recovery_hash(&new_recovery_code()));
    }

    #[tokio::test]
    async fn a_step_is_accepted_once_and_a_wrong_code_never() {
        let clock = Arc::new(ManualClock::at(1_700_000_000_000));
        let service = TotpService::new(Arc::new(MemoryStore::default()), clock.clone());
        let user = User {
            id: UserId::new_random(),
            email: Some("ana@example.com".into()),
            name: "Ana".into(),
            guest: false,
        };
        let enrolment = service.enrol(&user).await.unwrap();
        assert!(
            enrolment
                .otpauth_uri
                .starts_with("otpauth://totp/Cartroom:")
        );
        assert!(enrolment.qr_svg.contains("<svg"));
        let totp = build(&enrolment.secret, "").unwrap();
        let code_at = |ms: i64| totp.generate(ms as u64 / 1000).to_string();
        service
            .confirm(&user, &code_at(clock.now_ms()))
            .await
            .unwrap();
        assert!(service.is_on(user.id).await.unwrap());

        let refused = |r: Result<()>| match r {
            Err(super::super::ServiceError::Refused(r)) => r.code,
            other => panic!("expected a refusal, got {other:?}"),
        };
        // The step confirmation used is spent.
        let now = code_at(clock.now_ms());
        assert_eq!(
            refused(service.verify(user.id, factor(&now)).await),
            ErrorCode::TotpReplayed
        );
        clock.advance_ms(30_000);
        let next = code_at(clock.now_ms());
        service.verify(user.id, factor(&next)).await.unwrap();
        assert_eq!(
            refused(service.verify(user.id, factor(&next)).await),
            ErrorCode::TotpReplayed
        );
        let window: Vec<String> = [-30_000, 0, 30_000]
            .iter()
            .map(|d| code_at(clock.now_ms() + d))
            .collect();
        let wrong = ["000000", "000001", "000002", "000003"]
            .into_iter()
            .find(|c| !window.iter().any(|w| w == c))
            .unwrap();
        assert_eq!(
            refused(service.verify(user.id, factor(wrong)).await),
            ErrorCode::TotpInvalid
        );
        assert_eq!(
            refused(service.verify(user.id, SecondFactor::default()).await),
            ErrorCode::TotpRequired
        );
    }
}
