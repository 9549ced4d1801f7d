//! Password resets in memory.

use async_trait::async_trait;
use cartroom_protocol::http::User;

use super::{MemoryStore, State};
use crate::store::Result;
use crate::store::sharing::{NewMail, NewReset, PasswordResets};

pub(super) struct ResetRow {
    new: NewReset,
    token_hash: Option<String>,
    used_at: Option<i64>,
}

impl State {
    /// Stores the hash of a reset e-mail's token while the reset is unused
    /// and unexpired; false otherwise.
    pub(super) fn mint_reset_token(&mut self, id: &str, token_hash: &str, now_ms: i64) -> bool {
        self.resets
            .iter_mut()
            .find(|r| r.new.id == id)
            .filter(|r| r.used_at.is_none() && r.new.expires_at > now_ms)
            .map(|r| r.token_hash = Some(token_hash.to_owned()))
            .is_some()
    }
}

#[async_trait]
impl PasswordResets for MemoryStore {
    async fn create_reset(&self, reset: &NewReset, mail: &NewMail) -> Result<()> {
        let mut state = self.state();
        state.resets.push(ResetRow {
            new: reset.clone(),
            token_hash: None,
            used_at: None,
        });
        state.queue_mail(mail);
        Ok(())
    }

    async fn use_reset(
        &self,
        token_hash: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<Option<User>> {
        let mut state = self.state();
        let Some(row) = state.resets.iter_mut().find(|r| {
            r.token_hash.as_deref() == Some(token_hash)
                && r.used_at.is_none()
                && r.new.expires_at > now_ms
        }) else {
            return Ok(None);
        };
        let user = row.new.user;
        for r in state.resets.iter_mut().filter(|r| r.new.user == user) {
            r.used_at.get_or_insert(now_ms);
        }
        state.sessions.retain(|_, (u, _)| *u != user);
        let Some(row) = state.users.get_mut(&user) else {
            return Ok(None);
        };
        if !row.user.guest {
            row.password_hash = Some(password_hash.to_owned());
        }
        Ok(Some(row.user.clone()))
    }
}
