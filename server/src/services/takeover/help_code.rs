//! Help codes: a guest reads a short code out to the agent, which grants
//! the takeover of the cart it was made for (so that the agent need not
//! find a guest's cart, and never sees one they were not given).

use cartroom_protocol::CartId;
use cartroom_protocol::ErrorCode;
use cartroom_protocol::takeover::{
    HELP_CODE_DIGITS, HELP_CODE_TTL_MS, HelpCodeResponse, Takeover, TakeoverGrant, TakeoverId,
    TakeoverStatus,
};
use rand::Rng;

use super::{TakeoverService, no_right};
use crate::auth::token::token_hash;
use crate::cart::Actor;
use crate::refusal::Refusal;
use crate::services::error::Result;
use crate::services::reach::support_name;
use crate::store::takeover::HelpCode;

/// Tries at picking a help code no other cart holds.
const HELP_CODE_TRIES: usize = 8;

impl TakeoverService {
    /// A new help code for the cart, for one of its members to read out
    /// (staff watching the cart may not make one: it would let them in).
    pub async fn help_code(&self, cart: CartId, member: &Actor) -> Result<HelpCodeResponse> {
        if self
            .deps
            .members
            .role_of(cart, member.user_id)
            .await?
            .is_none()
        {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "only the cart's members make help codes",
            )
            .into());
        }
        let now = self.deps.clock.now_ms();
        let expires_at = now + HELP_CODE_TTL_MS;
        let help = HelpCode {
            cart_id: cart,
            created_by: member.user_id,
            expires_at,
        };
        for _ in 0..HELP_CODE_TRIES {
            let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
            if self
                .deps
                .takeovers
                .put_help_code(&token_hash(&code), &help, now)
                .await?
            {
                return Ok(HelpCodeResponse {
                    cart_id: cart,
                    code,
                    expires_at,
                });
            }
        }
        Err(Refusal::unavailable().into())
    }

    /// A takeover of the cart whose help code the shopper read out.
    pub(super) async fn start_with_code(&self, agent: &Actor, code: &str) -> Result<Takeover> {
        let store = &self.deps.takeovers;
        let stores = self.deps.staff.stores_of(agent.user_id).await?;
        if !stores
            .iter()
            .any(|(_, access)| access.may_update_customers())
        {
            return Err(no_right());
        }
        let code = code.trim();
        if code.len() != HELP_CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid_code());
        }
        let Some(help) = store.take_help_code(&token_hash(code)).await? else {
            return Err(invalid_code());
        };
        let Some(facts) = store.cart_facts(help.cart_id).await? else {
            return Err(invalid_code());
        };
        // A code of another store's cart is no code for this agent.
        if !stores
            .iter()
            .any(|(id, access)| *id == facts.store_id && access.may_update_customers())
        {
            return Err(invalid_code());
        }
        let now = self.deps.clock.now_ms();
        if help.expires_at <= now {
            return Err(Refusal::new(
                ErrorCode::HelpCodeExpired,
                "this help code is over 10 minutes old: ask the shopper for a new one",
            )
            .into());
        }
        Ok(Takeover {
            id: TakeoverId::new_random(),
            cart_id: help.cart_id,
            store_id: facts.store_id,
            agent_id: agent.user_id,
            agent_name: support_name(&agent.name),
            shopper_id: help.created_by,
            status: TakeoverStatus::Active,
            grant: TakeoverGrant::HelpCode,
            requested_at: now,
            started_at: Some(now),
            ended_at: None,
            ended_by: None,
        })
    }
}

fn invalid_code() -> crate::services::ServiceError {
    Refusal::new(
        ErrorCode::HelpCodeInvalid,
        "no help code like this one is waiting: check the six digits with the shopper",
    )
    .into()
}
