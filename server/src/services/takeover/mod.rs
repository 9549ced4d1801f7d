//! Cart takeover by a support agent (`docs/protocol.md` section 13,
//! "Takeover", "Watching carts").
//!
//! An agent with the customer-update right asks to take over a cart:
//! - a registered shopper in a store that asks first: `requested`, the
//!   shopper gets `takeover_requested` and answers (`consent`);
//! - a registered shopper in a store that waives consent: `active` at once;
//! - a guest: the shopper asks for a help code (six digits, ten minutes,
//!   used once) and reads it out; the agent's request with the code starts
//!   an `active` takeover of that cart.
//!
//! While active, the agent is an editor of the cart whose edits carry the
//! name `"<name> (support)"`. The start and the end are notes in the cart's
//! activity, which also move the agent's live subscriptions (editor, then
//! viewer) at once; either side ends it, and from then on the agent's ops
//! are refused. Both sides hear of every step on all their connections.
//!
//! [`TakeoverService::staff_access`] is the rule for staff who are not
//! members: staff of the cart's store may watch (viewer) a cart of a
//! customer who has a conversation with the store, and edit it during
//! their own active takeover.

use std::sync::Arc;

use cartroom_protocol::store::TakeoverConsent;
use cartroom_protocol::takeover::{
    StartTakeoverRequest, Takeover, TakeoverGrant, TakeoverId, TakeoverStatus,
};
use cartroom_protocol::{CartId, ErrorCode, MemberRole, ServerMsg, UserId};

use super::error::Result;
use super::live::LiveConnections;
use crate::cart::Actor;
use crate::clock::Clock;
use crate::refusal::Refusal;
use crate::room::{RoomCmd, Rooms};
use crate::store::takeover::Transition;
use crate::store::{Memberships, StoreShares, StoreStaff, Takeovers};

use super::reach::{CartReach, support_name};

mod help_code;

/// What the takeover service works with.
pub struct TakeoverDeps {
    pub takeovers: Arc<dyn Takeovers>,
    pub members: Arc<dyn Memberships>,
    /// Who works for which store, with which rights.
    pub staff: Arc<dyn StoreStaff>,
    pub rooms: Arc<Rooms>,
    pub live: Arc<LiveConnections>,
    pub clock: Arc<dyn Clock>,
    /// The store's settings: whether registered shoppers are asked.
    pub settings: Arc<dyn StoreShares>,
}

/// Takeovers, help codes and staff access to customers' carts.
pub struct TakeoverService {
    deps: TakeoverDeps,
}

impl TakeoverService {
    pub fn new(deps: TakeoverDeps) -> Self {
        Self { deps }
    }

    /// The access of a person who is not a member of the cart: `None`
    /// unless they are staff of its store and a customer of the store is
    /// in it (viewer), or they have an active takeover of it (editor).
    pub async fn staff_access(&self, cart: CartId, actor: &Actor) -> Result<Option<CartReach>> {
        let store = &self.deps.takeovers;
        let Some(facts) = store.cart_facts(cart).await? else {
            return Ok(None);
        };
        if self
            .deps
            .staff
            .store_role(&facts.store_id, actor.user_id)
            .await?
            .is_none()
        {
            return Ok(None);
        }
        let support = Actor {
            user_id: actor.user_id,
            name: support_name(&actor.name),
        };
        if let Some(t) = store.open_takeover(cart).await?
            && t.status == TakeoverStatus::Active
            && t.agent_id == actor.user_id
        {
            return Ok(Some(CartReach {
                role: MemberRole::Editor,
                actor: support,
                staff: true,
            }));
        }
        if store.has_customer_in(cart, &facts.store_id).await? {
            return Ok(Some(CartReach {
                role: MemberRole::Viewer,
                actor: support,
                staff: true,
            }));
        }
        Ok(None)
    }

    /// Whether the user works for any store (their subscription limit).
    pub async fn is_staff(&self, user: UserId) -> Result<bool> {
        Ok(!self.deps.staff.stores_of(user).await?.is_empty())
    }

    /// An agent asks to take over a cart (`cart_id`) or uses a help code.
    pub async fn start(&self, agent: &Actor, request: StartTakeoverRequest) -> Result<Takeover> {
        let takeover = match (request.cart_id, request.code) {
            (Some(cart), None) => self.request_for_cart(agent, cart).await?,
            (None, Some(code)) => self.start_with_code(agent, &code).await?,
            _ => {
                return Err(Refusal::new(
                    ErrorCode::InvalidField,
                    "name either cart_id (a registered shopper's cart) or code (a help code)",
                )
                .into());
            }
        };
        if !self.deps.takeovers.insert_takeover(&takeover).await? {
            return Err(Refusal::new(
                ErrorCode::TakeoverInProgress,
                "this cart has a takeover requested or active already",
            )
            .into());
        }
        match takeover.status {
            TakeoverStatus::Active => self.started(&takeover).await,
            _ => self.tell(
                &takeover,
                ServerMsg::TakeoverRequested {
                    takeover: Box::new(takeover.clone()),
                },
            ),
        }
        Ok(takeover)
    }

    /// A takeover of a registered shopper's cart: requested, or active when
    /// the store waives consent.
    async fn request_for_cart(&self, agent: &Actor, cart: CartId) -> Result<Takeover> {
        let store = &self.deps.takeovers;
        // A cart the agent may not watch does not exist for them.
        let facts = match store.cart_facts(cart).await? {
            Some(facts) if store.has_customer_in(cart, &facts.store_id).await? => facts,
            _ => return Err(Refusal::cart_not_found().into()),
        };
        match self
            .deps
            .staff
            .store_role(&facts.store_id, agent.user_id)
            .await?
        {
            None => return Err(Refusal::cart_not_found().into()),
            Some(access) if !access.may_update_customers() => return Err(no_right()),
            Some(_) => {}
        }
        let shopper = facts.created_by;
        if store.is_guest(shopper).await? != Some(false) {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "this shopper is a guest: ask them for a help code",
            )
            .into());
        }
        let now = self.deps.clock.now_ms();
        let waived = self
            .deps
            .settings
            .settings(&facts.store_id)
            .await?
            .takeover_consent
            == TakeoverConsent::WaivedForRegistered;
        Ok(Takeover {
            id: TakeoverId::new_random(),
            cart_id: cart,
            store_id: facts.store_id,
            agent_id: agent.user_id,
            agent_name: support_name(&agent.name),
            shopper_id: shopper,
            status: if waived {
                TakeoverStatus::Active
            } else {
                TakeoverStatus::Requested
            },
            grant: if waived {
                TakeoverGrant::Waived
            } else {
                TakeoverGrant::Consent
            },
            requested_at: now,
            started_at: waived.then_some(now),
            ended_at: None,
            ended_by: None,
        })
    }

    /// The shopper answers a request.
    pub async fn consent(&self, shopper: &Actor, id: TakeoverId, accept: bool) -> Result<Takeover> {
        let takeover = self.visible(id, shopper.user_id).await?;
        if takeover.shopper_id != shopper.user_id {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "only the shopper asked answers this request",
            )
            .into());
        }
        let to = if accept {
            TakeoverStatus::Active
        } else {
            TakeoverStatus::Declined
        };
        let changed = self
            .deps
            .takeovers
            .transition(Transition {
                id,
                from: &[TakeoverStatus::Requested],
                to,
                now_ms: self.deps.clock.now_ms(),
                by: (!accept).then_some(shopper.user_id),
            })
            .await?
            .ok_or_else(|| state_refusal("this request was answered or ended already"))?;
        if accept {
            self.started(&changed).await;
        } else {
            let text = format!(
                "{} declined the takeover by {}",
                shopper.name, changed.agent_name
            );
            self.note(&changed, shopper.clone(), "takeover_declined", text, None)
                .await;
            self.tell(
                &changed,
                ServerMsg::TakeoverEnded {
                    takeover: Box::new(changed.clone()),
                },
            );
        }
        Ok(changed)
    }

    /// The shopper or the agent ends a takeover (or cancels a request).
    pub async fn end(&self, by: &Actor, id: TakeoverId) -> Result<Takeover> {
        let before = self.visible(id, by.user_id).await?;
        let changed = self
            .deps
            .takeovers
            .transition(Transition {
                id,
                from: &[TakeoverStatus::Requested, TakeoverStatus::Active],
                to: TakeoverStatus::Ended,
                now_ms: self.deps.clock.now_ms(),
                by: Some(by.user_id),
            })
            .await?
            .ok_or_else(|| state_refusal("this takeover has ended already"))?;
        if before.status == TakeoverStatus::Active {
            let (author, text) = if by.user_id == changed.agent_id {
                let agent = Actor {
                    user_id: by.user_id,
                    name: changed.agent_name.clone(),
                };
                let text = format!("{} handed the cart back", changed.agent_name);
                (agent, text)
            } else {
                let text = format!("{} ended the takeover by {}", by.name, changed.agent_name);
                (by.clone(), text)
            };
            // The agent's subscriptions go back to watching at once.
            let member = Some((changed.agent_id, MemberRole::Viewer));
            self.note(&changed, author, "takeover_ended", text, member)
                .await;
        }
        self.tell(
            &changed,
            ServerMsg::TakeoverEnded {
                takeover: Box::new(changed.clone()),
            },
        );
        Ok(changed)
    }

    /// A takeover as its shopper or agent sees it; `not_found` for anyone else.
    pub async fn visible(&self, id: TakeoverId, user: UserId) -> Result<Takeover> {
        match self.deps.takeovers.takeover(id).await? {
            Some(t) if t.shopper_id == user || t.agent_id == user => Ok(t),
            _ => Err(Refusal::new(ErrorCode::NotFound, "no such takeover").into()),
        }
    }

    /// The cart's open takeover (for its members and the staff watching it).
    pub async fn open_of(&self, cart: CartId) -> Result<Option<Takeover>> {
        Ok(self.deps.takeovers.open_takeover(cart).await?)
    }

    /// A takeover became active: the note (the agent becomes an editor in
    /// the room at once) and the frames.
    async fn started(&self, takeover: &Takeover) {
        let agent = Actor {
            user_id: takeover.agent_id,
            name: takeover.agent_name.clone(),
        };
        let text = format!("{} took over the cart", takeover.agent_name);
        let member = Some((takeover.agent_id, MemberRole::Editor));
        self.note(takeover, agent, "takeover_started", text, member)
            .await;
        self.tell(
            takeover,
            ServerMsg::TakeoverStarted {
                takeover: Box::new(takeover.clone()),
            },
        );
    }

    /// An entry of the cart's audit trail (its activity).
    async fn note(
        &self,
        takeover: &Takeover,
        by: Actor,
        kind: &'static str,
        text: String,
        member: Option<(UserId, MemberRole)>,
    ) {
        let cmd = RoomCmd::Note {
            by,
            kind: kind.to_owned(),
            text,
            member,
        };
        // The takeover changed already; a room that cannot take the note
        // now (shutting down) misses only the activity entry, and the
        // agent's next op is checked against the takeover anyway.
        let _ = self.deps.rooms.send(takeover.cart_id, cmd).await;
    }

    /// Tells the shopper and the agent, on all their connections.
    fn tell(&self, takeover: &Takeover, msg: ServerMsg) {
        self.deps.live.send_to_user(takeover.shopper_id, &msg);
        if takeover.agent_id != takeover.shopper_id {
            self.deps.live.send_to_user(takeover.agent_id, &msg);
        }
    }
}

pub(super) fn no_right() -> crate::services::ServiceError {
    Refusal::new(
        ErrorCode::Forbidden,
        "taking over a cart needs the customer update right",
    )
    .into()
}

fn state_refusal(message: &str) -> crate::services::ServiceError {
    Refusal::new(ErrorCode::TakeoverState, message).into()
}
