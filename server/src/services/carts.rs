//! Carts: create, list, read and edit (through the cart's room, like
//! WebSocket ops), delete.

use std::sync::Arc;

use bytes::Bytes;
use cartroom_protocol::http::{CartResponse, CartSummary, CartView, OpAck, StoreInfo};
use cartroom_protocol::{ActivityEvent, CartId, ErrorCode, MemberRole, Op, OpId};
use tokio::sync::oneshot;

use super::error::Result;
use super::reach::CartReach;
use super::takeover::TakeoverService;
use crate::auth::token::new_token;
use crate::cart::{self, Actor, NodeId};
use crate::catalog::Catalogs;
use crate::clock::Clock;
use crate::policy;
use crate::refusal::Refusal;
use crate::room::{BytesKind, OpOrigin, RoomCmd, Rooms};
use crate::store::{Carts, ChangeLog, Memberships, NewCart};

/// Carts one user may create.
pub const MAX_CARTS_PER_USER: usize = 200;
/// Activity events one read may return.
pub const MAX_ACTIVITY_PAGE: usize = 200;

/// Carts and their documents.
pub struct CartService {
    carts: Arc<dyn Carts>,
    members: Arc<dyn Memberships>,
    /// Also read by history, for the archived epochs.
    pub(super) changes: Arc<dyn ChangeLog>,
    rooms: Arc<Rooms>,
    catalogs: Catalogs,
    clock: Arc<dyn Clock>,
    node: NodeId,
    /// Staff access to customers' carts (watching, takeover); `None` in
    /// copies of the service that only members use.
    staff: Option<Arc<TakeoverService>>,
}

impl CartService {
    pub fn new(
        carts: Arc<dyn Carts>,
        members: Arc<dyn Memberships>,
        changes: Arc<dyn ChangeLog>,
        rooms: Arc<Rooms>,
        catalogs: Catalogs,
        clock: Arc<dyn Clock>,
        node: NodeId,
    ) -> Self {
        Self {
            carts,
            members,
            changes,
            rooms,
            catalogs,
            clock,
            node,
            staff: None,
        }
    }

    /// Lets the store's staff reach customers' carts (support desk).
    pub fn with_staff_access(mut self, staff: Arc<TakeoverService>) -> Self {
        self.staff = Some(staff);
        self
    }

    /// The caller's role in the cart; `cart_not_found` for non-members, so
    /// that carts cannot be probed.
    pub async fn role_of(&self, cart: CartId, actor: &Actor) -> Result<MemberRole> {
        Ok(self.reach(cart, actor).await?.role)
    }

    /// How the caller reaches the cart: as a member, or as the store's
    /// staff (watching a customer's cart, or editing it during their
    /// takeover as `"<name> (support)"`); `cart_not_found` otherwise.
    pub async fn reach(&self, cart: CartId, actor: &Actor) -> Result<CartReach> {
        if let Some(role) = self.members.role_of(cart, actor.user_id).await? {
            return Ok(CartReach {
                role,
                actor: actor.clone(),
                staff: false,
            });
        }
        if let Some(staff) = &self.staff
            && let Some(reach) = staff.staff_access(cart, actor).await?
        {
            return Ok(reach);
        }
        Err(Refusal::cart_not_found().into())
    }

    /// The store a cart buys from; `cart_not_found` when there is no cart.
    pub async fn store_of(&self, cart: CartId) -> Result<StoreInfo> {
        let store = self
            .carts
            .cart_store(cart)
            .await?
            .ok_or_else(Refusal::cart_not_found)?;
        Ok(self.catalogs.resolve(Some(&store))?.current().store.clone())
    }

    /// A new cart of `store` (the default store when `None`) with `actor`
    /// as its admin.
    pub async fn create(
        &self,
        actor: &Actor,
        name: &str,
        store: Option<&str>,
    ) -> Result<CartResponse> {
        let catalog = self.catalogs.resolve(store)?.current();
        cart::validate_name(name)?;
        if self.carts.count_created_carts(actor.user_id).await? >= MAX_CARTS_PER_USER {
            return Err(Refusal::new(
                ErrorCode::TooMany,
                format!("one account may create at most {MAX_CARTS_PER_USER} carts"),
            )
            .into());
        }
        let id = CartId::new_random();
        let now = self.clock.now_ms();
        let name = name.trim();
        let doc = cart::new_cart_doc(name, &catalog.store.currency, actor, now, self.node);
        self.carts
            .create_cart(NewCart {
                id,
                store_id: &catalog.store.id,
                name,
                creator: actor.user_id,
                snapshot: &doc.save(),
                now_ms: now,
            })
            .await?;
        let role = MemberRole::Admin;
        Ok(CartResponse {
            id,
            store_id: catalog.store.id.clone(),
            role,
            capabilities: policy::capabilities(role),
            view: cart::view(&doc)?,
        })
    }

    /// The carts `actor` is a member of.
    pub async fn list(&self, actor: &Actor) -> Result<Vec<CartSummary>> {
        let carts = self.carts.list_carts(actor.user_id).await?;
        Ok(carts
            .into_iter()
            .map(|c| CartSummary {
                capabilities: policy::capabilities(c.role),
                id: c.id,
                store_id: c.store_id,
                name: c.name,
                role: c.role,
                subtotal: c.subtotal,
                currency: c.currency,
                line_count: c.line_count,
            })
            .collect())
    }

    /// The cart's view as the room has it once everything made so far is
    /// durable.
    pub async fn view(&self, cart: CartId) -> Result<CartView> {
        self.ask_room(cart, |reply| RoomCmd::View { reply }).await
    }

    /// The cart, as `reach` sees it.
    pub async fn get(&self, cart: CartId, reach: &CartReach) -> Result<CartResponse> {
        let view = self.view(cart).await?;
        let store_id = self
            .carts
            .cart_store(cart)
            .await?
            .ok_or_else(Refusal::cart_not_found)?;
        Ok(CartResponse {
            id: cart,
            store_id,
            role: reach.role,
            capabilities: reach.capabilities(),
            view,
        })
    }

    /// Runs an op through the cart's room.
    pub async fn run_op(
        &self,
        cart: CartId,
        actor: Actor,
        role: MemberRole,
        op_id: OpId,
        op: Op,
    ) -> Result<OpAck> {
        let answer = self
            .ask_room(cart, |reply| RoomCmd::Op {
                origin: OpOrigin::Direct { actor, role, reply },
                op_id,
                op: Box::new(op),
            })
            .await?;
        Ok(answer?)
    }

    /// Renames the cart (a `rename` op with an op id of its own).
    pub async fn rename(
        &self,
        cart: CartId,
        reach: &CartReach,
        name: String,
    ) -> Result<CartResponse> {
        let op_id = OpId(format!("rename-{}", &new_token()[..16]));
        let (actor, role) = (reach.actor.clone(), reach.role);
        self.run_op(cart, actor, role, op_id, Op::Rename { name })
            .await?;
        self.get(cart, reach).await
    }

    /// Deletes the cart once its room has finished its commits and told its
    /// subscribers.
    pub async fn delete(&self, cart: CartId) -> Result<()> {
        self.ask_room(cart, |reply| RoomCmd::Delete { reply })
            .await?;
        Ok(self.carts.delete_cart(cart).await?)
    }

    /// Automerge bytes of the cart, once everything made so far is durable.
    pub async fn bytes(&self, cart: CartId, kind: BytesKind) -> Result<Bytes> {
        self.ask_room(cart, |reply| RoomCmd::Bytes { kind, reply })
            .await
    }

    /// The latest `limit` activity events, oldest first.
    pub async fn activity(&self, cart: CartId, limit: usize) -> Result<Vec<ActivityEvent>> {
        if !(1..=MAX_ACTIVITY_PAGE).contains(&limit) {
            return Err(Refusal::new(
                ErrorCode::InvalidField,
                format!("limit is 1 to {MAX_ACTIVITY_PAGE}"),
            )
            .into());
        }
        Ok(self.changes.recent_activity(cart, limit).await?)
    }

    /// Sends a command to the cart's room and waits for its answer; a room
    /// that cannot answer (shutting down, storage failing) is `unavailable`.
    async fn ask_room<T>(
        &self,
        cart: CartId,
        cmd: impl FnOnce(oneshot::Sender<T>) -> RoomCmd,
    ) -> Result<T> {
        let (reply, rx) = oneshot::channel();
        self.rooms
            .send(cart, cmd(reply))
            .await
            .map_err(|_| Refusal::unavailable())?;
        Ok(rx.await.map_err(|_| Refusal::unavailable())?)
    }
}
