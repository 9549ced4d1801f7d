//! Customers a back office imports and exports: one row per (store,
//! account) as the support desk keeps them, or per (store, e-mail) until an
//! account has the e-mail (the trigger `customers_link_user` links it).

use cartroom_protocol::back_office::{ItemStatus, StoreCustomer};
use cartroom_protocol::support::CustomerId;
use sqlx::{PgConnection, PgPool, Row};

use super::{ATTEMPTS, worth_retrying};
use crate::store::Result;
use crate::store::back_office::CustomerWrite;

async fn import_one(
    conn: &mut PgConnection,
    store: &str,
    c: &CustomerWrite,
    now_ms: i64,
) -> Result<ItemStatus> {
    let user: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(&c.email)
        .fetch_optional(&mut *conn)
        .await?;
    let existing = sqlx::query(
        "SELECT id, name, external_id FROM customers
         WHERE store_id = $1 AND (($2::TEXT IS NOT NULL AND user_id = $2)
                                  OR ($2::TEXT IS NULL AND user_id IS NULL AND email = $3))",
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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
        "UPDATE customers SET name = $1, external_id = COALESCE($2, external_id),
                              email = COALESCE(email, $3), updated_at = $4
         WHERE id = $5",
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

/// Imports in one transaction that first takes the customers cursor lock
/// (SQLite's `BEGIN IMMEDIATE` made it the only writer). Every writer of
/// customers takes that lock before it touches a row (the support desk's
/// writes, and `customers_link_user` when an account gets an e-mail), so
/// the reads here see every committed customer and account, and no
/// sign-up can link between the read and the insert. Run again when
/// Postgres breaks a deadlock all the same (an account changing at once).
pub(super) async fn import(
    pool: &PgPool,
    store: &str,
    customers: &[CustomerWrite],
    now_ms: i64,
) -> Result<Vec<ItemStatus>> {
    let mut attempt = 1;
    loop {
        match import_once(pool, store, customers, now_ms).await {
            Err(e) if attempt < ATTEMPTS && worth_retrying(&e) => attempt += 1,
            done => return done,
        }
    }
}

async fn import_once(
    pool: &PgPool,
    store: &str,
    customers: &[CustomerWrite],
    now_ms: i64,
) -> Result<Vec<ItemStatus>> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT cursor_lock('customers')")
        .execute(&mut *tx)
        .await?;
    let mut statuses = Vec::with_capacity(customers.len());
    for c in customers {
        statuses.push(import_one(&mut tx, store, c, now_ms).await?);
    }
    tx.commit().await?;
    Ok(statuses)
}

/// Customers by change sequence, taken under the cursor lock (held until
/// the writing transaction ends): a page never passes a change still to
/// commit.
pub(super) async fn changed(
    pool: &PgPool,
    store: &str,
    after: i64,
    limit: usize,
) -> Result<Vec<(i64, StoreCustomer)>> {
    let rows = sqlx::query(
        "SELECT id, email, name, phone, external_id, user_id, updated_at, change_seq
         FROM customers WHERE store_id = $1 AND change_seq > $2
         ORDER BY change_seq LIMIT $3",
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
