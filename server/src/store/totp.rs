//! Two-factor sign-in (migration `0006_totp.sql`): each account's TOTP
//! secret, the last time step a code was accepted for, and its recovery
//! codes. The replay rule lives here, in one conditional write, so that two
//! sign-ins racing with the same code cannot both pass.

use async_trait::async_trait;
use cartroom_protocol::UserId;

use super::Result;

/// An account's TOTP enrolment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotpRecord {
    /// The shared secret, base32.
    pub secret: String,
    /// False while the enrolment waits for its first code.
    pub enabled: bool,
}

/// TOTP secrets and recovery codes.
#[async_trait]
pub trait TwoFactor: Send + Sync {
    /// The account's enrolment, pending or on.
    async fn totp(&self, user: UserId) -> Result<Option<TotpRecord>>;

    /// Stores a pending secret, replacing a pending one; false (and nothing
    /// changed) when TOTP is on already.
    async fn set_pending_totp(&self, user: UserId, secret: &str, now_ms: i64) -> Result<bool>;

    /// Turns the pending enrolment on, records `step` as used and replaces
    /// the recovery codes, atomically; false when nothing was pending.
    async fn enable_totp(
        &self,
        user: UserId,
        step: i64,
        recovery_hashes: &[String],
    ) -> Result<bool>;

    /// Accepts `step` for an account with TOTP on unless that step or a
    /// later one was accepted before; false for a replay.
    async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool>;

    /// Marks an unused recovery code used; false when there is none.
    async fn use_recovery_code(&self, user: UserId, code_hash: &str, now_ms: i64) -> Result<bool>;

    /// Forgets the enrolment and its recovery codes.
    async fn disable_totp(&self, user: UserId) -> Result<()>;
}
