//! Customers a back office imports and exports: one row per (store,
//! account) as the support desk keeps them, or per (store, e-mail) until an
//! account has the e-mail (the triggers of `0010_back_office.sql` link it).

use cartroom_protocol::back_office::{ItemStatus, StoreCustomer};
use cartroom_protocol::support::CustomerId;
use sqlx::{Row, SqliteConnection, SqlitePool};

use crate::store::Result;
use crate::store::back_office::CustomerWrite;

async fn import_one(
    conn: &mut SqliteConnection,
    store: &str,
    c: &CustomerWrite,
    now_ms: i64,
) -> Result<ItemStatus> {
    let user: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
        .bind(&c.email)
        .fetch_optional(&mut *conn)
        .await?;
    let existing = sqlx::query(
        "SELECT id, name, external_id FROM customers
         WHERE store_id = ?1 AND ((?2 IS NOT NULL AND user_id = ?2)
                                  OR (?2 IS NULL AND user_id IS NULL AND email = ?3))",
    )
    .bind(store)
    .bind(&user)
    .bind(&c.email)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = existing else {
        sqlx::query(
            "INSERT INTO customers (id, store_id, user_id, name, email, created_at, external_id,
                                    updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(CustomerId::new_random().to_string())
        .bind(store)
        .bind(&user)
        .bind(&c.name)
        .bind(&c.email)
        .bind(now_ms)
        .bind(&c.external_id)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
        return Ok(ItemStatus::Created);
    };
    let id: String = row.get("id");
    let name: String = row.get("name");
    let external_id: Option<String> = row.get("external_id");
    let same_external = c.external_id.is_none() || c.external_id == external_id;
    if name == c.name && same_external {
        return Ok(ItemStatus::Unchanged);
    }
    sqlx::query(
        "UPDATE customers SET name = ?, external_id = COALESCE(?, external_id),
                              email = COALESCE(email, ?), updated_at = ?
         WHERE id = ?",
    )
    .bind(&c.name)
    .bind(&c.external_id)
    .bind(&c.email)
    .bind(now_ms)
    .bind(&id)
    .execute(&mut *conn)
    .await?;
    Ok(ItemStatus::Updated)
}

pub(super) async fn import(
    pool: &SqlitePool,
    store: &str,
    customers: &[CustomerWrite],
    now_ms: i64,
) -> Result<Vec<ItemStatus>> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut statuses = Vec::with_capacity(customers.len());
    for c in customers {
        statuses.push(import_one(&mut tx, store, c, now_ms).await?);
    }
    tx.commit().await?;
    Ok(statuses)
}

pub(super) async fn changed(
    pool: &SqlitePool,
    store: &str,
    after: i64,
    limit: usize,
) -> Result<Vec<(i64, StoreCustomer)>> {
    let rows = sqlx::query(
        "SELECT id, email, name, phone, external_id, user_id, updated_at, change_seq
         FROM customers WHERE store_id = ? AND change_seq > ?
         ORDER BY change_seq LIMIT ?",
    )
    .bind(store)
    .bind(after)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| {
            let customer = StoreCustomer {
                id: row.get("id"),
                email: row.get("email"),
                name: row.get("name"),
                phone: row.get("phone"),
                external_id: row.get("external_id"),
                linked: row.get::<Option<String>, _>("user_id").is_some(),
                updated_at: row.get("updated_at"),
            };
            (row.get("change_seq"), customer)
        })
        .collect())
}
