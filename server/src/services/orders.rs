//! Orders once placed: who sees them, status changes (the store confirms,
//! fulfils or cancels; a cart's admin may cancel a pending one), payments
//! of shares, and keeping each cart's document in step with its order.
//!
//! The order's row is the truth; the cart shows a copy (`checkout.order`)
//! written by a server-originated op after each committed change. An order
//! whose cart was not told (the node died in between) is marked unsynced in
//! the same transaction, and told at the next start or timer tick.

use std::sync::Arc;

use cartroom_protocol::checkout::{OrderStatus, OrderView};
use cartroom_protocol::{CartId, ErrorCode, MemberRole, UserId};

use super::error::{Result, ServiceError};
use crate::cart::server_op::short_id;
use crate::cart::{Actor, ServerOp};
use crate::catalog::Catalogs;
use crate::checkout::PaymentProvider;
use crate::checkout::payment::Settlement;
use crate::clock::Clock;
use crate::money::format_money;
use crate::refusal::Refusal;
use crate::room::{RoomCmd, Rooms};
use crate::store::{Memberships, Orders, StatusError, StoreStaff, UnsyncedOrder};

/// Placed orders.
pub struct OrderService {
    orders: Arc<dyn Orders>,
    members: Arc<dyn Memberships>,
    rooms: Arc<Rooms>,
    catalogs: Catalogs,
    clock: Arc<dyn Clock>,
    payments: Arc<dyn PaymentProvider>,
    /// The store's owners and staff.
    staff: Arc<dyn StoreStaff>,
}

/// What an order service is built from.
pub struct OrderDeps {
    pub orders: Arc<dyn Orders>,
    pub members: Arc<dyn Memberships>,
    pub rooms: Arc<Rooms>,
    pub catalogs: Catalogs,
    pub clock: Arc<dyn Clock>,
    pub payments: Arc<dyn PaymentProvider>,
    pub staff: Arc<dyn StoreStaff>,
}

impl OrderService {
    pub fn new(deps: OrderDeps) -> Self {
        Self {
            orders: deps.orders,
            members: deps.members,
            rooms: deps.rooms,
            catalogs: deps.catalogs,
            clock: deps.clock,
            payments: deps.payments,
            staff: deps.staff,
        }
    }

    /// Whether the user has a role in the store (owner or agent): the
    /// store's staff see and manage every order of the store.
    async fn is_staff(&self, store: &str, user: UserId) -> Result<bool> {
        Ok(self.staff.store_role(store, user).await?.is_some())
    }

    /// A cart's orders, newest first (the caller is a member).
    pub async fn of_cart(&self, cart: CartId) -> Result<Vec<OrderView>> {
        Ok(self.orders.cart_orders(cart).await?)
    }

    /// Every order of the store, newest first (its staff only).
    pub async fn of_store(&self, store: &str, caller: &Actor) -> Result<Vec<OrderView>> {
        if !self.is_staff(store, caller.user_id).await? {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "only the store's staff see its orders",
            )
            .into());
        }
        Ok(self.orders.store_orders(store).await?)
    }

    /// One order, for a member of its cart or its store's staff;
    /// `order_not_found` for anyone else.
    pub async fn get(&self, id: &str, caller: &Actor) -> Result<OrderView> {
        Ok(self.visible(id, caller).await?.order)
    }

    /// The order as the caller may see it; `order_not_found` when they may
    /// not.
    async fn visible(&self, id: &str, caller: &Actor) -> Result<Visible> {
        let order = self.orders.order(id).await?.ok_or_else(no_order)?;
        let role = self.members.role_of(order.cart_id, caller.user_id).await?;
        let staff = self.is_staff(&order.store_id, caller.user_id).await?;
        if role.is_none() && !staff {
            return Err(no_order().into());
        }
        Ok(Visible { order, role, staff })
    }

    /// Moves an order on: the staff confirm, fulfil and cancel; an admin of
    /// its cart may cancel it while it is pending. Cancelling returns the
    /// stock. The cart follows.
    pub async fn set_status(
        &self,
        id: &str,
        status: OrderStatus,
        caller: &Actor,
    ) -> Result<OrderView> {
        let Visible { role, staff, .. } = self.visible(id, caller).await?;
        let from: &[OrderStatus] = if staff {
            &[OrderStatus::Pending, OrderStatus::Confirmed]
        } else if status == OrderStatus::Cancelled && role == Some(MemberRole::Admin) {
            &[OrderStatus::Pending]
        } else {
            &[]
        };
        let forbidden = || {
            ServiceError::from(Refusal::new(
                ErrorCode::Forbidden,
                "only the store's staff move an order on (a cart's admin may cancel it while pending)",
            ))
        };
        if from.is_empty() {
            return Err(forbidden());
        }
        let by = if staff {
            format!("{} for the store", caller.name)
        } else {
            caller.name.clone()
        };
        self.apply_status(id, status, from, by, &forbidden).await
    }

    /// The store's back office (an API key) moves an order of `store` on,
    /// as its staff may; `by` names it in the cart's activity.
    pub async fn set_status_for_store(
        &self,
        id: &str,
        status: OrderStatus,
        store: &str,
        by: String,
    ) -> Result<OrderView> {
        match self.orders.order(id).await? {
            Some(order) if order.store_id == store => {}
            _ => return Err(no_order().into()),
        }
        let forbidden = || {
            ServiceError::from(Refusal::new(
                ErrorCode::Forbidden,
                "the store moves on only pending and confirmed orders",
            ))
        };
        let from = [OrderStatus::Pending, OrderStatus::Confirmed];
        self.apply_status(id, status, &from, by, &forbidden).await
    }

    /// Moves the order on from one of `from`, returns the stock of a
    /// cancelled order and tells the cart.
    async fn apply_status(
        &self,
        id: &str,
        status: OrderStatus,
        from: &[OrderStatus],
        by: String,
        forbidden: &(dyn Fn() -> ServiceError + Sync),
    ) -> Result<OrderView> {
        let now = self.clock.now_ms();
        let updated = self
            .orders
            .set_order_status(id, status, from, &by, now)
            .await
            .map_err(|e| match e {
                StatusError::NotFound => no_order().into(),
                StatusError::NotAllowed(_) => forbidden(),
                StatusError::Wrong(current) => ServiceError::from(Refusal::new(
                    ErrorCode::WrongPhase,
                    format!(
                        "order {} is {}: it cannot become {}",
                        short_id(id),
                        current.as_str(),
                        status.as_str()
                    ),
                )),
                StatusError::Store(e) => e.into(),
            })?;
        if status == OrderStatus::Cancelled {
            let returned: Vec<(String, i64)> = updated
                .lines
                .iter()
                .map(|l| (l.sku.clone(), l.quantity))
                .collect();
            if let Some(catalog) = self.catalogs.get(&updated.store_id) {
                catalog.adjust_stock(&returned);
            }
        }
        self.tell_cart(UnsyncedOrder {
            id: updated.id.clone(),
            cart_id: updated.cart_id,
            status,
            total: updated.total,
            by_name: by,
        })
        .await;
        Ok(updated)
    }

    /// The store marks one share paid (the local provider's settlement).
    pub async fn mark_paid(&self, id: &str, user: UserId, caller: &Actor) -> Result<OrderView> {
        let Visible { order, staff, .. } = self.visible(id, caller).await?;
        if !staff {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "only the store's staff mark shares paid",
            )
            .into());
        }
        if let Some(share) = order.shares.iter().find(|s| s.user_id == user)
            && share.provider != self.payments.id()
        {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                format!("the {} provider settles this share itself", share.provider),
            )
            .into());
        }
        self.payments
            .settle(Settlement::ByStore)
            .map_err(|e| Refusal::new(ErrorCode::Forbidden, e.to_string()))?;
        let updated = self
            .orders
            .mark_share_paid(id, user, self.clock.now_ms())
            .await?
            .ok_or_else(|| {
                Refusal::new(
                    ErrorCode::UserNotFound,
                    "this order has no share of that user",
                )
            })?;
        if let Some(share) = updated.shares.iter().find(|s| s.user_id == user) {
            let mut text = format!(
                "{} marked {}'s share of order {} paid ({})",
                caller.name,
                share.name,
                short_id(id),
                format_money(share.amount, &updated.currency)
            );
            if updated.paid {
                text.push_str("; the order is paid");
            }
            let note = RoomCmd::Note {
                by: caller.clone(),
                kind: "share_paid".to_owned(),
                text,
                member: None,
            };
            // The payment is recorded; a room that cannot take the note misses only the feed entry.
            let _ = self.rooms.send(updated.cart_id, note).await;
        }
        Ok(updated)
    }

    /// Tells the cart about the order's status (a server op), then records
    /// that it knows. A cart that cannot be told now is told later
    /// ([`OrderService::catch_up`]).
    pub async fn tell_cart(&self, order: UnsyncedOrder) {
        let op = ServerOp::SyncOrder {
            order_id: order.id.clone(),
            status: order.status,
            total: order.total,
            by_name: order.by_name.clone(),
        };
        let (reply, rx) = tokio::sync::oneshot::channel();
        if self
            .rooms
            .send(order.cart_id, RoomCmd::ServerOp { op, reply })
            .await
            .is_err()
        {
            return;
        }
        match rx.await {
            Ok(Ok(_)) => {
                if let Err(e) = self.orders.mark_synced(&order.id, order.status).await {
                    tracing::warn!(error = %e, order = %order.id, "could not record that the cart knows its order");
                }
            }
            // A deleted cart has nothing to show; its order stays.
            Ok(Err(refusal)) if refusal.code == ErrorCode::CartNotFound => {
                let _ = self.orders.mark_synced(&order.id, order.status).await;
            }
            other => {
                tracing::warn!(order = %order.id, ?other, "the cart could not be told about its order; later");
            }
        }
    }

    /// Tells every cart about orders it has not seen; returns how many.
    pub async fn catch_up(&self) -> Result<usize> {
        let unsynced = self.orders.unsynced_orders().await?;
        let count = unsynced.len();
        for order in unsynced {
            self.tell_cart(order).await;
        }
        Ok(count)
    }
}

/// An order as one caller may see it.
struct Visible {
    order: OrderView,
    /// The caller's role in its cart.
    role: Option<MemberRole>,
    /// The caller is on the staff of the order's store.
    staff: bool,
}

fn no_order() -> Refusal {
    Refusal::new(
        ErrorCode::OrderNotFound,
        "no such order, or not one of yours",
    )
}
