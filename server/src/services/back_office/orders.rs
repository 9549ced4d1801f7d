//! Order export: the store's orders in the order they were placed, read
//! with a cursor that never skips or repeats one (the export sequence is
//! taken in the placing transaction, see `store/sqlite/back_office`), and
//! status changes by the back office.

use cartroom_protocol::back_office::StoreOrdersPage;
use cartroom_protocol::checkout::{OrderStatus, OrderView};

use super::{BackOfficeService, StoreKey};
use crate::services::error::Result;

impl BackOfficeService {
    /// The store's orders placed after the cursor.
    pub async fn orders_page(
        &self,
        key: &StoreKey,
        after: i64,
        limit: usize,
    ) -> Result<StoreOrdersPage> {
        let mut ids = self
            .store
            .orders_after(&key.store_id, after, limit + 1)
            .await?;
        let has_more = ids.len() > limit;
        ids.truncate(limit);
        let cursor = ids.last().map_or(after, |(seq, _)| *seq);
        let mut orders = Vec::with_capacity(ids.len());
        for (_, id) in &ids {
            // An order is never deleted, so each id reads back.
            if let Some(order) = self.orders.order(id).await? {
                orders.push(order);
            }
        }
        Ok(StoreOrdersPage {
            orders,
            cursor: cursor.to_string(),
            has_more,
        })
    }

    /// Moves an order of the key's store on, named after the key in the
    /// cart's activity: `order_not_found` for another store's order.
    pub async fn set_order_status(
        &self,
        key: &StoreKey,
        id: &str,
        status: OrderStatus,
    ) -> Result<OrderView> {
        self.order_service
            .set_status_for_store(id, status, &key.store_id, key.actor_name())
            .await
    }
}
