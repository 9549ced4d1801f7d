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
//!
//! ## Postgres: several nodes place orders at once
//! SQLite ran each of these transactions alone (`BEGIN IMMEDIATE`). Here:
//! - stock is taken by `UPDATE ... SET stock = stock - n WHERE stock >= n`:
//!   a concurrent order of the same product waits for the row, then checks
//!   `stock >= n` again on what the other left, so stock never goes below
//!   zero and the last unit goes to one order only;
//! - a cart has one live order by the unique index `orders_one_live_per_cart`:
//!   two placements of one cart that both pass the first check meet there,
//!   and the later one gets [`PlaceError::CartHasOrder`];
//! - a status change locks the order (`FOR UPDATE`), so two changes take
//!   turns and a cancelled order returns its units once;
//! - the transactions that change stock take the products' cursor lock
//!   first (their trigger takes it anyway, after a row's lock): taking it
//!   before any row keeps two orders of several products from deadlocking.
//!   A deadlock with another writer of products (which takes a row, then
//!   the cursor lock) stays possible; Postgres then aborts one transaction,
//!   and an order's is run again ([`RETRIES`]).

mod deadlines;
mod rows;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use cartroom_protocol::checkout::{OrderStatus, OrderView};
use cartroom_protocol::{CartId, UserId};
use sqlx::{PgConnection, Row};

use self::rows::{ORDER_COLUMNS, parse_status, read_order, write_order};
use super::{PgStore, parse_id, webhooks};
use crate::checkout::{RateTable, ShippingRate};
use crate::store::{
    CheckoutSettings, NewOrder, Orders, PlaceError, Result, Shortage, StatusError, StoreError,
    UnsyncedOrder,
};

/// How often a transaction that Postgres aborted (deadlock, serialization
/// failure) is run again before its error is returned.
const RETRIES: usize = 3;

/// The products' cursor lock (see the schema's `cursor_lock`).
const PRODUCTS_CURSOR: &str = "SELECT cursor_lock('products')";

/// Whether Postgres aborted the transaction for another's sake: running
/// it again may succeed.
fn retryable(e: &StoreError) -> bool {
    let StoreError::Db(e) = e else { return false };
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "40P01" || code == "40001")
}

#[async_trait]
impl Orders for PgStore {
    async fn place_order(&self, order: &NewOrder) -> Result<(), PlaceError> {
        let mut attempt = 0;
        loop {
            match self.try_place_order(order).await {
                Err(PlaceError::Store(e)) if retryable(&e) && attempt < RETRIES => attempt += 1,
                done => return done,
            }
        }
    }

    async fn order(&self, id: &str) -> Result<Option<OrderView>> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1");
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
            "SELECT {ORDER_COLUMNS} FROM orders WHERE cart_id = $1
             ORDER BY placed_at DESC, id COLLATE \"C\""
        );
        let rows = sqlx::query(&sql)
            .bind(cart.to_string())
            .fetch_all(&self.pool)
            .await?;
        self.read_orders(rows).await
    }

    async fn store_orders(&self, store_id: &str) -> Result<Vec<OrderView>> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE store_id = $1
             ORDER BY placed_at DESC, id COLLATE \"C\""
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
        let mut attempt = 0;
        loop {
            match self.try_set_status(id, status, from, by_name, now_ms).await {
                Err(StatusError::Store(e)) if retryable(&e) && attempt < RETRIES => attempt += 1,
                Err(e) => return Err(e),
                Ok(()) => break,
            }
        }
        self.order(id).await?.ok_or(StatusError::NotFound)
    }

    async fn mark_share_paid(
        &self,
        id: &str,
        user: UserId,
        now_ms: i64,
    ) -> Result<Option<OrderView>> {
        let found = sqlx::query(
            "UPDATE order_shares SET paid_at = COALESCE(paid_at, $1)
             WHERE order_id = $2 AND user_id = $3",
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
            // Orders of carts another live node holds are that node's to tell.
            "SELECT id, cart_id, status, total, status_by_name FROM orders o
             WHERE NOT cart_synced AND NOT EXISTS (
               SELECT 1 FROM cart_leases l
               WHERE l.cart_id = o.cart_id AND l.node <> $1 AND l.expires_at > now())
             ORDER BY updated_at, id COLLATE \"C\"",
        )
        .bind(&self.node)
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
        sqlx::query("UPDATE orders SET cart_synced = TRUE WHERE id = $1 AND status = $2")
            .bind(id)
            .bind(status.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn checkout_settings(&self, store_id: &str) -> Result<CheckoutSettings> {
        let approval_over: Option<i64> =
            sqlx::query_scalar("SELECT approval_over FROM store_checkout WHERE store_id = $1")
                .bind(store_id)
                .fetch_optional(&self.pool)
                .await?
                .flatten();
        let rates = sqlx::query(
            "SELECT country, price, free_over FROM shipping_rates WHERE store_id = $1
             ORDER BY country COLLATE \"C\"",
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

impl PgStore {
    /// One attempt at `place_order`, in one transaction.
    async fn try_place_order(&self, order: &NewOrder) -> Result<(), PlaceError> {
        let mut tx = self.pool.begin().await.map_err(StoreError::from)?;
        let live: Option<String> = sqlx::query_scalar(
            "SELECT id FROM orders WHERE cart_id = $1 AND status <> 'cancelled'",
        )
        .bind(order.cart_id.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        if live.is_some() {
            return Err(PlaceError::CartHasOrder);
        }
        sqlx::query(PRODUCTS_CURSOR)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        let short = take_stock(&mut tx, order).await?;
        if !short.is_empty() {
            // Dropping the transaction rolls back the lines already taken.
            return Err(PlaceError::OutOfStock(short));
        }
        if let Err(e) = write_order(&mut tx, order).await {
            return Err(one_live_order(e));
        }
        // The `order.created` webhook commits with the order.
        webhooks::order_created(&mut tx, order).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// One attempt at `set_order_status`'s change, in one transaction.
    async fn try_set_status(
        &self,
        id: &str,
        status: OrderStatus,
        from: &[OrderStatus],
        by_name: &str,
        now_ms: i64,
    ) -> Result<(), StatusError> {
        let mut tx = self.pool.begin().await.map_err(StoreError::from)?;
        if status == OrderStatus::Cancelled {
            // Before the order's row, as placing an order does.
            sqlx::query(PRODUCTS_CURSOR)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
        }
        let current: Option<(String, String)> =
            sqlx::query_as("SELECT status, store_id FROM orders WHERE id = $1 FOR UPDATE")
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
            "UPDATE orders SET status = $1, status_by_name = $2, cart_synced = FALSE,
                               updated_at = $3
             WHERE id = $4",
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
                 FROM order_lines l WHERE l.order_id = $1 AND products.sku = l.sku
                 AND products.store_id = $2",
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
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }
}

/// Takes each line's units from stock, unless the stock left (by any node)
/// cannot cover it; returns the lines it could not cover, in the order's
/// order.
async fn take_stock(conn: &mut PgConnection, order: &NewOrder) -> Result<Vec<Shortage>> {
    let mut short = Vec::new();
    for line in &order.lines {
        let taken = sqlx::query(
            "UPDATE products SET stock = stock - $1
             WHERE sku = $2 AND store_id = $3 AND stock >= $1",
        )
        .bind(line.quantity)
        .bind(&line.sku)
        .bind(&order.store_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if taken == 0 {
            let in_stock: Option<i64> =
                sqlx::query_scalar("SELECT stock FROM products WHERE sku = $1 AND store_id = $2")
                    .bind(&line.sku)
                    .bind(&order.store_id)
                    .fetch_optional(&mut *conn)
                    .await?;
            short.push(Shortage {
                sku: line.sku.clone(),
                name: line.name.clone(),
                wanted: line.quantity,
                in_stock: in_stock.unwrap_or(0),
            });
        }
    }
    Ok(short)
}

/// The cart got a live order from another transaction since the check:
/// the unique index says so.
fn one_live_order(e: StoreError) -> PlaceError {
    if let StoreError::Db(db) = &e
        && db
            .as_database_error()
            .is_some_and(|d| d.constraint() == Some("orders_one_live_per_cart"))
    {
        return PlaceError::CartHasOrder;
    }
    PlaceError::Store(e)
}
