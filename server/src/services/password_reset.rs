//! Password reset by e-mail: asking queues an e-mail with a single-use link
//! (through the outbox, like invitations); the link's token sets a new
//! password once, ends every session of the account and starts a new one.
//! Asking answers the same whether or not the address has an account.

use std::sync::Arc;

use cartroom_protocol::ErrorCode;
use cartroom_protocol::http::SessionResponse;
use cartroom_protocol::sharing::{ResetConfirmRequest, ResetRequest};

use super::accounts::AccountService;
use super::accounts::{valid_email, valid_password};
use super::error::Result;
use crate::auth::password::hash_password;
use crate::auth::purpose::{Purpose, purpose_hash, well_formed};
use crate::clock::Clock;
use crate::mail::MailQueue;
use crate::mail::templates;
use crate::refusal::Refusal;
use crate::store::sharing::{MailPurpose, NewMail, NewReset};
use crate::store::{Accounts, PasswordResets};

/// How long a reset link works.
pub const RESET_TTL_MS: i64 = 60 * 60 * 1000;

/// Password resets.
pub struct PasswordResetService {
    resets: Arc<dyn PasswordResets>,
    accounts: Arc<dyn Accounts>,
    clock: Arc<dyn Clock>,
    mail: MailQueue,
}

impl PasswordResetService {
    pub fn new(
        resets: Arc<dyn PasswordResets>,
        accounts: Arc<dyn Accounts>,
        clock: Arc<dyn Clock>,
        mail: MailQueue,
    ) -> Self {
        Self {
            resets,
            accounts,
            clock,
            mail,
        }
    }

    /// Queues a reset e-mail when the address has a registered account;
    /// answers the same either way.
    pub async fn request(&self, req: ResetRequest) -> Result<()> {
        let email = valid_email(&req.email)?;
        let Some((user, Some(_))) = self.accounts.user_by_email(&email).await? else {
            return Ok(());
        };
        let now = self.clock.now_ms();
        let reset = NewReset {
            id: uuid::Uuid::new_v4().to_string(),
            user: user.id,
            now_ms: now,
            expires_at: now + RESET_TTL_MS,
        };
        let rendered = templates::password_reset(&user.name, reset.expires_at);
        let mail = NewMail {
            purpose: MailPurpose::PasswordReset,
            ref_id: reset.id.clone(),
            recipient: email,
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            now_ms: now,
        };
        self.resets.create_reset(&reset, &mail).await?;
        self.mail.wake();
        Ok(())
    }

    /// Sets the new password with the e-mail's token (once) and starts a
    /// session; every other session of the account ends.
    pub async fn confirm(
        &self,
        accounts: &AccountService,
        req: ResetConfirmRequest,
    ) -> Result<SessionResponse> {
        valid_password(&req.password)?;
        let token = req.token.trim();
        let refused = || {
            Refusal::new(
                ErrorCode::InviteNotFound,
                "this reset link is not valid any more (used, expired or replaced); ask for a new one",
            )
        };
        if !well_formed(token) {
            return Err(refused().into());
        }
        let hash = hash_password(req.password)
            .await
            .map_err(|e| Refusal::new(ErrorCode::Internal, e.to_string()))?;
        let now = self.clock.now_ms();
        let user = self
            .resets
            .use_reset(&purpose_hash(Purpose::PasswordReset, token), &hash, now)
            .await?
            .ok_or_else(refused)?;
        accounts.session_for(user).await
    }
}
