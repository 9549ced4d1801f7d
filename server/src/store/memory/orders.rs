//! Orders in memory, with the same rules as the database: stock taken with
//! the order or not at all, one live order per cart, statuses that follow
//! [`OrderStatus::may_become`], stock returned on cancel.

use std::collections::BTreeMap;

use async_trait::async_trait;
use cartroom_protocol::checkout::{OrderStatus, OrderView};
use cartroom_protocol::{CartId, UserId};

use super::MemoryStore;
use crate::store::{
    CheckoutSettings, Deadlines, NewOrder, Orders, PlaceError, Result, Shortage, StatusError,
    UnsyncedOrder,
};

/// Every order, by id, and what the carts were last told.
#[derive(Default)]
pub(super) struct OrdersState {
    orders: BTreeMap<String, StoredOrder>,
    /// The store's checkout settings, for tests that set them.
    settings: CheckoutSettings,
}

struct StoredOrder {
    view: OrderView,
    by_name: String,
    synced: bool,
}

impl MemoryStore {
    /// Sets the checkout settings every store reads.
    pub fn set_checkout_settings(&self, settings: CheckoutSettings) {
        self.state().orders.settings = settings;
    }
}

#[async_trait]
impl Orders for MemoryStore {
    async fn place_order(&self, order: &NewOrder) -> Result<(), PlaceError> {
        let mut state = self.state();
        let state = &mut *state;
        if state
            .orders
            .orders
            .values()
            .any(|o| o.view.cart_id == order.cart_id && o.view.status != OrderStatus::Cancelled)
        {
            return Err(PlaceError::CartHasOrder);
        }
        let listings = state
            .catalogs
            .get_mut(&order.store_id)
            .map(|(_, listings)| listings)
            .ok_or(PlaceError::OutOfStock(Vec::new()))?;
        let short: Vec<Shortage> = order
            .lines
            .iter()
            .filter_map(|line| {
                let in_stock = listings
                    .iter()
                    .find(|l| l.product.sku == line.sku)
                    .map_or(0, |l| l.product.stock);
                (in_stock < line.quantity).then(|| Shortage {
                    sku: line.sku.clone(),
                    name: line.name.clone(),
                    wanted: line.quantity,
                    in_stock,
                })
            })
            .collect();
        if !short.is_empty() {
            return Err(PlaceError::OutOfStock(short));
        }
        for line in &order.lines {
            if let Some(l) = listings.iter_mut().find(|l| l.product.sku == line.sku) {
                l.product.stock -= line.quantity;
            }
        }
        state.orders.orders.insert(
            order.id.clone(),
            StoredOrder {
                view: order.view(),
                by_name: order.placed_by_name.clone(),
                synced: false,
            },
        );
        Ok(())
    }

    async fn order(&self, id: &str) -> Result<Option<OrderView>> {
        Ok(self.state().orders.orders.get(id).map(|o| o.view.clone()))
    }

    async fn cart_orders(&self, cart: CartId) -> Result<Vec<OrderView>> {
        Ok(newest_first(
            self.state()
                .orders
                .orders
                .values()
                .filter(|o| o.view.cart_id == cart),
        ))
    }

    async fn store_orders(&self, store_id: &str) -> Result<Vec<OrderView>> {
        Ok(newest_first(
            self.state()
                .orders
                .orders
                .values()
                .filter(|o| o.view.store_id == store_id),
        ))
    }

    async fn set_order_status(
        &self,
        id: &str,
        status: OrderStatus,
        from: &[OrderStatus],
        by_name: &str,
        now_ms: i64,
    ) -> Result<OrderView, StatusError> {
        let mut state = self.state();
        let state = &mut *state;
        let order = state
            .orders
            .orders
            .get_mut(id)
            .ok_or(StatusError::NotFound)?;
        if !order.view.status.may_become(status) {
            return Err(StatusError::Wrong(order.view.status));
        }
        if !from.contains(&order.view.status) {
            return Err(StatusError::NotAllowed(order.view.status));
        }
        order.view.status = status;
        order.view.updated_at = now_ms;
        order.by_name = by_name.to_owned();
        order.synced = false;
        if status == OrderStatus::Cancelled
            && let Some((_, listings)) = state.catalogs.get_mut(&order.view.store_id)
        {
            for line in &order.view.lines {
                if let Some(l) = listings.iter_mut().find(|l| l.product.sku == line.sku) {
                    l.product.stock += line.quantity;
                }
            }
        }
        Ok(order.view.clone())
    }

    async fn mark_share_paid(
        &self,
        id: &str,
        user: UserId,
        now_ms: i64,
    ) -> Result<Option<OrderView>> {
        let mut state = self.state();
        let Some(order) = state.orders.orders.get_mut(id) else {
            return Ok(None);
        };
        let Some(share) = order.view.shares.iter_mut().find(|s| s.user_id == user) else {
            return Ok(None);
        };
        share.paid_at.get_or_insert(now_ms);
        order.view.paid = order.view.shares.iter().all(|s| s.paid_at.is_some());
        Ok(Some(order.view.clone()))
    }

    async fn unsynced_orders(&self) -> Result<Vec<UnsyncedOrder>> {
        Ok(self
            .state()
            .orders
            .orders
            .values()
            .filter(|o| !o.synced)
            .map(|o| UnsyncedOrder {
                id: o.view.id.clone(),
                cart_id: o.view.cart_id,
                status: o.view.status,
                total: o.view.total,
                by_name: o.by_name.clone(),
            })
            .collect())
    }

    async fn mark_synced(&self, id: &str, status: OrderStatus) -> Result<()> {
        if let Some(order) = self.state().orders.orders.get_mut(id)
            && order.view.status == status
        {
            order.synced = true;
        }
        Ok(())
    }

    async fn checkout_settings(&self, _store_id: &str) -> Result<CheckoutSettings> {
        Ok(self.state().orders.settings.clone())
    }
}

#[async_trait]
impl Deadlines for MemoryStore {
    async fn due_deadlines(&self, now_ms: i64) -> Result<Vec<(CartId, i64)>> {
        let mut due: Vec<(CartId, i64)> = self
            .state()
            .carts
            .iter()
            .filter_map(|(id, row)| Some((*id, row.lock_deadline?)))
            .filter(|(_, at)| *at <= now_ms)
            .collect();
        due.sort_by_key(|(_, at)| *at);
        Ok(due)
    }

    async fn next_deadline(&self, after_ms: i64) -> Result<Option<i64>> {
        Ok(self
            .state()
            .carts
            .values()
            .filter_map(|row| row.lock_deadline)
            .filter(|at| *at > after_ms)
            .min())
    }
}

fn newest_first<'a>(orders: impl Iterator<Item = &'a StoredOrder>) -> Vec<OrderView> {
    let mut list: Vec<OrderView> = orders.map(|o| o.view.clone()).collect();
    list.sort_by(|a, b| b.placed_at.cmp(&a.placed_at).then(a.id.cmp(&b.id)));
    list
}
