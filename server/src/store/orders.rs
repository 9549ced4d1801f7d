//! Orders and what checkout needs of the store: placing an order with its
//! stock change in one transaction, order statuses and payments, the
//! store's checkout settings, and carts' deadlines.

use std::sync::Arc;

use async_trait::async_trait;
use cartroom_protocol::checkout::{
    OrderAddress, OrderLine, OrderShare, OrderStatus, OrderView, SplitPlan,
};
use cartroom_protocol::{CartId, UserId};
use tokio::sync::Notify;

use super::{Result, StoreError};
use crate::checkout::RateTable;

/// An order to write, as quoted: lines at the prices charged, addresses,
/// the split and each share.
#[derive(Clone, Debug)]
pub struct NewOrder {
    pub id: String,
    pub store_id: String,
    pub cart_id: CartId,
    pub cart_name: String,
    pub placed_by: UserId,
    pub placed_by_name: String,
    pub currency: String,
    pub subtotal: i64,
    pub shipping: i64,
    pub total: i64,
    pub lines: Vec<OrderLine>,
    pub addresses: Vec<OrderAddress>,
    pub split: SplitPlan,
    pub shares: Vec<OrderShare>,
    pub now_ms: i64,
}

impl NewOrder {
    /// The order as it reads once written.
    pub fn view(&self) -> OrderView {
        OrderView {
            id: self.id.clone(),
            cart_id: self.cart_id,
            cart_name: self.cart_name.clone(),
            store_id: self.store_id.clone(),
            status: OrderStatus::Pending,
            currency: self.currency.clone(),
            subtotal: self.subtotal,
            shipping: self.shipping,
            total: self.total,
            placed_by: self.placed_by,
            placed_by_name: self.placed_by_name.clone(),
            placed_at: self.now_ms,
            updated_at: self.now_ms,
            lines: self.lines.clone(),
            addresses: self.addresses.clone(),
            split: self.split.clone(),
            paid: self.shares.iter().all(|s| s.paid_at.is_some()),
            shares: self.shares.clone(),
        }
    }
}

/// A line the stock could not cover.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shortage {
    pub sku: String,
    pub name: String,
    pub wanted: i64,
    pub in_stock: i64,
}

/// Why an order was not written (nothing was).
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error("not enough stock for {} line(s)", .0.len())]
    OutOfStock(Vec<Shortage>),
    #[error("the cart has an order already")]
    CartHasOrder,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a status change was refused (nothing changed).
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("no such order")]
    NotFound,
    #[error("the order is {}", .0.as_str())]
    Wrong(OrderStatus),
    #[error("the caller may not move on an order that is {}", .0.as_str())]
    NotAllowed(OrderStatus),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An order whose cart does not show its latest status yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsyncedOrder {
    pub id: String,
    pub cart_id: CartId,
    pub status: OrderStatus,
    pub total: i64,
    /// Who placed it, or made the latest status change.
    pub by_name: String,
}

/// A store's checkout settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckoutSettings {
    /// Orders over this total need approval, unless the cart sets its own.
    pub approval_over: Option<i64>,
    pub rates: RateTable,
}

/// Orders of a store.
#[async_trait]
pub trait Orders: Send + Sync {
    /// Writes the order and takes its units from stock in one transaction,
    /// all or nothing: when a line's stock cannot cover it, nothing is
    /// written and every short line is named.
    async fn place_order(&self, order: &NewOrder) -> Result<(), PlaceError>;

    async fn order(&self, id: &str) -> Result<Option<OrderView>>;

    /// A cart's orders, newest first.
    async fn cart_orders(&self, cart: CartId) -> Result<Vec<OrderView>>;

    /// A store's orders, newest first.
    async fn store_orders(&self, store_id: &str) -> Result<Vec<OrderView>>;

    /// Moves the order to `status` when its current status allows it
    /// ([`OrderStatus::may_become`]) and is one of `from` (what the caller
    /// may move on), in one transaction; cancelling returns its units to
    /// stock. The cart is then to be told.
    async fn set_order_status(
        &self,
        id: &str,
        status: OrderStatus,
        from: &[OrderStatus],
        by_name: &str,
        now_ms: i64,
    ) -> Result<OrderView, StatusError>;

    /// Marks one share paid (once); `None` when the order has no such share.
    async fn mark_share_paid(
        &self,
        id: &str,
        user: UserId,
        now_ms: i64,
    ) -> Result<Option<OrderView>>;

    /// Orders whose cart does not show their latest status yet.
    async fn unsynced_orders(&self) -> Result<Vec<UnsyncedOrder>>;

    /// The cart shows `status`; a later change will need telling again.
    async fn mark_synced(&self, id: &str, status: OrderStatus) -> Result<()>;

    async fn checkout_settings(&self, store_id: &str) -> Result<CheckoutSettings>;
}

/// Carts' deadlines, as the last change of each cart left them.
#[async_trait]
pub trait Deadlines: Send + Sync {
    /// Carts whose deadline is at or before `now_ms`, earliest first.
    async fn due_deadlines(&self, now_ms: i64) -> Result<Vec<(CartId, i64)>>;

    /// The earliest deadline of any cart later than `after_ms`.
    async fn next_deadline(&self, after_ms: i64) -> Result<Option<i64>>;

    /// Woken after this node commits a change that sets a deadline, where
    /// only this node writes them (SQLite: one node per database). `None`
    /// where other nodes set deadlines too: the timer then looks every
    /// second.
    fn deadlines_written(&self) -> Option<Arc<Notify>> {
        None
    }
}
