//! Two-factor sign-in in memory.

use std::collections::HashMap;

use async_trait::async_trait;
use cartroom_protocol::UserId;

use super::MemoryStore;
use crate::store::Result;
use crate::store::totp::{TotpRecord, TwoFactor};

/// One account's enrolment.
pub(super) struct TotpRow {
    record: TotpRecord,
    last_step: Option<i64>,
    /// Recovery code hash → when it was used.
    recovery: HashMap<String, Option<i64>>,
}

#[async_trait]
impl TwoFactor for MemoryStore {
    async fn totp(&self, user: UserId) -> Result<Option<TotpRecord>> {
        Ok(self.state().totp.get(&user).map(|r| r.record.clone()))
    }

    async fn set_pending_totp(&self, user: UserId, secret: &str, _now_ms: i64) -> Result<bool> {
        let mut state = self.state();
        if state.totp.get(&user).is_some_and(|r| r.record.enabled) {
            return Ok(false);
        }
        state.totp.insert(
            user,
            TotpRow {
                record: TotpRecord {
                    secret: secret.to_owned(),
                    enabled: false,
                },
                last_step: None,
                recovery: HashMap::new(),
            },
        );
        Ok(true)
    }

    async fn enable_totp(
        &self,
        user: UserId,
        step: i64,
        recovery_hashes: &[String],
    ) -> Result<bool> {
        let mut state = self.state();
        let Some(row) = state.totp.get_mut(&user).filter(|r| !r.record.enabled) else {
            return Ok(false);
        };
        row.record.enabled = true;
        row.last_step = Some(step);
        row.recovery = recovery_hashes.iter().map(|h| (h.clone(), None)).collect();
        Ok(true)
    }

    async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool> {
        let mut state = self.state();
        let Some(row) = state.totp.get_mut(&user).filter(|r| r.record.enabled) else {
            return Ok(false);
        };
        if row.last_step.is_some_and(|last| last >= step) {
            return Ok(false);
        }
        row.last_step = Some(step);
        Ok(true)
    }

    async fn use_recovery_code(&self, user: UserId, code_hash: &str, now_ms: i64) -> Result<bool> {
        let mut state = self.state();
        let Some(row) = state.totp.get_mut(&user).filter(|r| r.record.enabled) else {
            return Ok(false);
        };
        match row.recovery.get_mut(code_hash) {
            Some(used @ None) => {
                *used = Some(now_ms);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn disable_totp(&self, user: UserId) -> Result<()> {
        self.state().totp.remove(&user);
        Ok(())
    }
}
