//! Orders, their lines and shares, stock taken and returned with them, the
//! store's checkout settings, and carts' deadlines. Placing an order and
//! cancelling one change stock in the same transaction as the order, so
//! that a process killed in between leaves both or neither.

use async_trait::async_trait;
use cartroom_protocol::checkout::{
    OrderAddress, OrderLine, OrderShare, OrderStatus, OrderView, SplitPlan,
};
use cartroom_protocol::{CartId, UserId};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::{SqliteStore, parse_id};
use crate::checkout::{RateTable, ShippingRate};
use crate::store::{
    CheckoutSettings, Deadlines, NewOrder, Orders, PlaceError, Result, Shortage, StatusError,
    StoreError, UnsyncedOrder,
};

const ORDER_COLUMNS: &str = "id, store_id, cart_id, cart_name, placed_by, placed_by_name, status, \
     currency, subtotal, shipping, total, split, addresses, placed_at, updated_at";

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
        tx.commit().await.map_err(StoreError::from)?;
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
        tx.commit().await.map_err(StoreError::from)?;
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

#[async_trait]
impl Deadlines for SqliteStore {
    async fn due_deadlines(&self, now_ms: i64) -> Result<Vec<(CartId, i64)>> {
        let rows = sqlx::query(
            "SELECT id, lock_deadline FROM carts
             WHERE lock_deadline IS NOT NULL AND lock_deadline <= ? ORDER BY lock_deadline",
        )
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((parse_id(r.get::<&str, _>("id"))?, r.get("lock_deadline"))))
            .collect()
    }

    async fn next_deadline(&self) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(lock_deadline) FROM carts WHERE lock_deadline IS NOT NULL",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}

impl SqliteStore {
    async fn read_orders(&self, rows: Vec<SqliteRow>) -> Result<Vec<OrderView>> {
        let mut conn = self.pool.acquire().await?;
        let mut orders = Vec::with_capacity(rows.len());
        for row in &rows {
            orders.push(read_order(&mut conn, row).await?);
        }
        Ok(orders)
    }
}

async fn write_order(conn: &mut SqliteConnection, order: &NewOrder) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO orders (id, store_id, cart_id, cart_name, placed_by, placed_by_name, status,
                             status_by_name, currency, subtotal, shipping, total, split, addresses,
                             placed_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&order.id)
    .bind(&order.store_id)
    .bind(order.cart_id.to_string())
    .bind(&order.cart_name)
    .bind(order.placed_by.to_string())
    .bind(&order.placed_by_name)
    .bind(&order.placed_by_name)
    .bind(&order.currency)
    .bind(order.subtotal)
    .bind(order.shipping)
    .bind(order.total)
    .bind(to_json(&order.split)?)
    .bind(to_json(&order.addresses)?)
    .bind(order.now_ms)
    .bind(order.now_ms)
    .execute(&mut *conn)
    .await?;
    for line in &order.lines {
        sqlx::query(
            "INSERT INTO order_lines (order_id, sku, name, unit_price, quantity, line_total, owner, owner_name)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&order.id)
        .bind(&line.sku)
        .bind(&line.name)
        .bind(line.unit_price)
        .bind(line.quantity)
        .bind(line.line_total)
        .bind(&line.owner)
        .bind(&line.owner_name)
        .execute(&mut *conn)
        .await?;
    }
    for share in &order.shares {
        sqlx::query(
            "INSERT INTO order_shares (order_id, user_id, name, amount, provider, reference, instructions, paid_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&order.id)
        .bind(share.user_id.to_string())
        .bind(&share.name)
        .bind(share.amount)
        .bind(&share.provider)
        .bind(&share.reference)
        .bind(&share.instructions)
        .bind(share.paid_at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn read_order(conn: &mut SqliteConnection, row: &SqliteRow) -> Result<OrderView> {
    let id: String = row.get("id");
    let lines = sqlx::query(
        "SELECT sku, name, unit_price, quantity, line_total, owner, owner_name
         FROM order_lines WHERE order_id = ? ORDER BY sku",
    )
    .bind(&id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| OrderLine {
        sku: r.get("sku"),
        name: r.get("name"),
        unit_price: r.get("unit_price"),
        quantity: r.get("quantity"),
        line_total: r.get("line_total"),
        owner: r.get("owner"),
        owner_name: r.get("owner_name"),
    })
    .collect();
    let shares = sqlx::query(
        "SELECT user_id, name, amount, provider, reference, instructions, paid_at
         FROM order_shares WHERE order_id = ? ORDER BY user_id",
    )
    .bind(&id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        Ok(OrderShare {
            user_id: parse_id(r.get::<&str, _>("user_id"))?,
            name: r.get("name"),
            amount: r.get("amount"),
            provider: r.get("provider"),
            reference: r.get("reference"),
            instructions: r.get("instructions"),
            paid_at: r.get("paid_at"),
        })
    })
    .collect::<Result<Vec<_>>>()?;
    let split: SplitPlan = from_json(row.get("split"))?;
    let addresses: Vec<OrderAddress> = from_json(row.get("addresses"))?;
    Ok(OrderView {
        cart_id: parse_id(row.get::<&str, _>("cart_id"))?,
        cart_name: row.get("cart_name"),
        store_id: row.get("store_id"),
        status: parse_status(row.get("status"))?,
        currency: row.get("currency"),
        subtotal: row.get("subtotal"),
        shipping: row.get("shipping"),
        total: row.get("total"),
        placed_by: parse_id(row.get::<&str, _>("placed_by"))?,
        placed_by_name: row.get("placed_by_name"),
        placed_at: row.get("placed_at"),
        updated_at: row.get("updated_at"),
        lines,
        addresses,
        split,
        paid: shares.iter().all(|s| s.paid_at.is_some()),
        shares,
        id,
    })
}

fn parse_status(s: &str) -> Result<OrderStatus> {
    OrderStatus::parse(s).ok_or_else(|| StoreError::Corrupt(format!("bad order status {s:?}")))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("order JSON: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("order JSON: {e}")))
}
