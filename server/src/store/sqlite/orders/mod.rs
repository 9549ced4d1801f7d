//! Orders, their lines and shares, stock taken and returned with them, and
//! the store's checkout settings. Placing an order and cancelling one
//! change stock in the same transaction as the order, so that a process
//! killed in between leaves both or neither.
//!
//! ## Layout
//! - this file: the `Orders` trait: placing, reading, moving on, paying;
//! - [`rows`]: an order written to and read from its three tables;
//! - [`deadlines`]: the `Deadlines` trait (carts' deadlines, a column of
//!   `carts` that the writer keeps).

mod deadlines;
mod rows;

use async_trait::async_trait;
use cartroom_protocol::checkout::{OrderStatus, OrderView};
use cartroom_protocol::{CartId, UserId};
use sqlx::Row;

use self::rows::{ORDER_COLUMNS, parse_status, read_order, write_order};
use super::{SqliteStore, parse_id, webhooks};
use crate::checkout::{RateTable, ShippingRate};
use crate::store::{
    CheckoutSettings, NewOrder, Orders, PlaceError, Result, Shortage, StatusError, StoreError,
    UnsyncedOrder,
};

#[async_trait]
impl Orders for SqliteStore {
    async fn place_order(&self, order: &NewOrder) -> Result<(), PlaceError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::from)?;
        let live: Option<String> =
            sqlx::query_scalar("SELECT id FROM orders WHERE cart_id = ? AND status <> 'cancelled'")
                .bind(order.cart_id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::from)?;
        if live.is_some() {
            return Err(PlaceError::CartHasOrder);
        }
        let mut short = Vec::new();
        for line in &order.lines {
            let taken = sqlx::query(
                "UPDATE products SET stock = stock - ?1 WHERE sku = ?2 AND store_id = ?3 AND stock >= ?1",
            )
            .bind(line.quantity)
            .bind(&line.sku)
            .bind(&order.store_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?
            .rows_affected();
            if taken == 0 {
                let in_stock: Option<i64> =
                    sqlx::query_scalar("SELECT stock FROM products WHERE sku = ? AND store_id = ?")
                        .bind(&line.sku)
                        .bind(&order.store_id)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(StoreError::from)?;
                short.push(Shortage {
                    sku: line.sku.clone(),
                    name: line.name.clone(),
                    wanted: line.quantity,
                    in_stock: in_stock.unwrap_or(0),
                });
            }
        }
        if !short.is_empty() {
            // Dropping the transaction rolls back the lines already taken.
            return Err(PlaceError::OutOfStock(short));
        }
        write_order(&mut tx, order).await?;
        // The `order.created` webhook commits with the order.
        webhooks::order_created(&mut tx, order).await?;
        self.commit_with_events(tx).await?;
        Ok(())
    }

    async fn order(&self, id: &str) -> Result<Option<OrderView>> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let mut conn = self.pool.acquire().await?;
        match row {
            Some(row) => Ok(Some(read_order(&mut conn, &row).await?)),
            None => Ok(None),
        }
    }

    async fn cart_orders(&self, cart: CartId) -> Result<Vec<OrderView>> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE cart_id = ? ORDER BY placed_at DESC, id"
        );
        let rows = sqlx::query(&sql)
            .bind(cart.to_string())
            .fetch_all(&self.pool)
            .await?;
        self.read_orders(rows).await
    }

    async fn store_orders(&self, store_id: &str) -> Result<Vec<OrderView>> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE store_id = ? ORDER BY placed_at DESC, id"
        );
        let rows = sqlx::query(&sql)
            .bind(store_id)
            .fetch_all(&self.pool)
            .await?;
        self.read_orders(rows).await
    }

    async fn set_order_status(
        &self,
        id: &str,
        status: OrderStatus,
        from: &[OrderStatus],
        by_name: &str,
        now_ms: i64,
    ) -> Result<OrderView, StatusError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::from)?;
        let current: Option<(String, String)> =
            sqlx::query_as("SELECT status, store_id FROM orders WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::from)?;
        let Some((current, store_id)) = current else {
            return Err(StatusError::NotFound);
        };
        let current = parse_status(&current)?;
        if !current.may_become(status) {
            return Err(StatusError::Wrong(current));
        }
        if !from.contains(&current) {
            return Err(StatusError::NotAllowed(current));
        }
        sqlx::query(
            "UPDATE orders SET status = ?, status_by_name = ?, cart_synced = 0, updated_at = ?
             WHERE id = ?",
        )
        .bind(status.as_str())
        .bind(by_name)
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        if status == OrderStatus::Cancelled {
            sqlx::query(
                "UPDATE products SET stock = stock + l.quantity
                 FROM order_lines l WHERE l.order_id = ? AND products.sku = l.sku
                 AND products.store_id = ?",
            )
            .bind(id)
            .bind(&store_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        }
        // The `order.status_changed` webhook commits with the change.
        let change = webhooks::StatusChange {
            order_id: id,
            store_id: &store_id,
            previous: current,
            status,
            by_name,
            now_ms,
        };
        webhooks::order_status_changed(&mut tx, change).await?;
        self.commit_with_events(tx).await?;
        self.order(id).await?.ok_or(StatusError::NotFound)
    }

    async fn mark_share_paid(
        &self,
        id: &str,
        user: UserId,
        now_ms: i64,
    ) -> Result<Option<OrderView>> {
        let found = sqlx::query(
            "UPDATE order_shares SET paid_at = COALESCE(paid_at, ?) WHERE order_id = ? AND user_id = ?",
        )
        .bind(now_ms)
        .bind(id)
        .bind(user.to_string())
        .execute(&self.pool)
        .await?
        .rows_affected();
        if found == 0 {
            return Ok(None);
        }
        self.order(id).await
    }

    async fn unsynced_orders(&self) -> Result<Vec<UnsyncedOrder>> {
        let rows = sqlx::query(
            "SELECT id, cart_id, status, total, status_by_name FROM orders
             WHERE cart_synced = 0 ORDER BY updated_at",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(UnsyncedOrder {
                    id: r.get("id"),
                    cart_id: parse_id(r.get::<&str, _>("cart_id"))?,
                    status: parse_status(r.get("status"))?,
                    total: r.get("total"),
                    by_name: r.get("status_by_name"),
                })
            })
            .collect()
    }

    async fn mark_synced(&self, id: &str, status: OrderStatus) -> Result<()> {
        sqlx::query("UPDATE orders SET cart_synced = 1 WHERE id = ? AND status = ?")
            .bind(id)
            .bind(status.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn checkout_settings(&self, store_id: &str) -> Result<CheckoutSettings> {
        let approval_over: Option<i64> =
            sqlx::query_scalar("SELECT approval_over FROM store_checkout WHERE store_id = ?")
                .bind(store_id)
                .fetch_optional(&self.pool)
                .await?
                .flatten();
        let rates = sqlx::query(
            "SELECT country, price, free_over FROM shipping_rates WHERE store_id = ? ORDER BY country",
        )
        .bind(store_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| ShippingRate {
            country: r.get("country"),
            price: r.get("price"),
            free_over: r.get("free_over"),
        })
        .collect();
        Ok(CheckoutSettings {
            approval_over,
            rates: RateTable(rates),
        })
    }
}
