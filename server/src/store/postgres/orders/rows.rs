//! An order in its tables: `orders` (the order, its split and addresses as
//! JSON), `order_lines` and `order_shares`. The same statements as SQLite's.

use cartroom_protocol::checkout::{
    OrderAddress, OrderLine, OrderShare, OrderStatus, OrderView, SplitPlan,
};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::store::postgres::{PgStore, parse_id};
use crate::store::{NewOrder, Result, StoreError};

pub(super) const ORDER_COLUMNS: &str = "id, store_id, cart_id, cart_name, placed_by, placed_by_name, status, \
     currency, subtotal, shipping, total, split, addresses, placed_at, updated_at";

impl PgStore {
    pub(super) async fn read_orders(&self, rows: Vec<PgRow>) -> Result<Vec<OrderView>> {
        let mut conn = self.pool.acquire().await?;
        let mut orders = Vec::with_capacity(rows.len());
        for row in &rows {
            orders.push(read_order(&mut conn, row).await?);
        }
        Ok(orders)
    }
}

pub(super) async fn write_order(
    conn: &mut PgConnection,
    order: &NewOrder,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO orders (id, store_id, cart_id, cart_name, placed_by, placed_by_name, status,
                             status_by_name, currency, subtotal, shipping, total, split, addresses,
                             placed_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9, $10, $11, $12, $13, $14, $15)",
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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

pub(super) async fn read_order(conn: &mut PgConnection, row: &PgRow) -> Result<OrderView> {
    let id: String = row.get("id");
    let lines = sqlx::query(
        "SELECT sku, name, unit_price, quantity, line_total, owner, owner_name
         FROM order_lines WHERE order_id = $1 ORDER BY sku COLLATE \"C\"",
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
         FROM order_shares WHERE order_id = $1 ORDER BY user_id COLLATE \"C\"",
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

pub(super) fn parse_status(s: &str) -> Result<OrderStatus> {
    OrderStatus::parse(s).ok_or_else(|| StoreError::Corrupt(format!("bad order status {s:?}")))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("order JSON: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("order JSON: {e}")))
}
