//! Products as a back office syncs them: each write reads the row before
//! and after in one transaction, so that the caller can move the catalog in
//! memory by the same delta.

use cartroom_protocol::back_office::{ItemStatus, SyncProduct};
use cartroom_protocol::http::GroupBuy;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};

use super::{ATTEMPTS, worth_retrying};
use crate::catalog::image_url;
use crate::store::Result;
use crate::store::back_office::{ProductFields, ProductOutcome, ProductRow, ProductWrite};

fn fields(row: &PgRow) -> ProductFields {
    let min: Option<i64> = row.get("group_buy_min");
    let price: Option<i64> = row.get("group_buy_price");
    ProductFields {
        name: row.get("name"),
        price: row.get("price"),
        stock: row.get("stock"),
        image_url: row.get("image_url"),
        group_buy: min.zip(price).map(|(min_quantity, price)| GroupBuy {
            min_quantity,
            price,
        }),
    }
}

async fn read(conn: &mut PgConnection, store: &str, sku: &str) -> Result<Option<ProductRow>> {
    let row = sqlx::query(
        "SELECT name, price, stock, image_url, group_buy_min, group_buy_price, color, unlisted_at
         FROM products WHERE store_id = $1 AND sku = $2",
    )
    .bind(store)
    .bind(sku)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|row| ProductRow {
        fields: fields(&row),
        color: row.get("color"),
        listed: row.get::<Option<i64>, _>("unlisted_at").is_none(),
    }))
}

/// The row after a write, or `None` when the write does not apply (a
/// patch or unlisting of a product the store does not list).
fn next(before: Option<&ProductRow>, write: ProductWrite, color: String) -> Option<ProductRow> {
    match (before, write) {
        (None, ProductWrite::Upsert(fields)) => Some(ProductRow {
            fields,
            color,
            listed: true,
        }),
        (Some(old), ProductWrite::Upsert(fields)) => Some(ProductRow {
            fields,
            listed: true,
            ..old.clone()
        }),
        (Some(old), ProductWrite::Patch(patch)) if old.listed => {
            let mut row = old.clone();
            let f = &mut row.fields;
            if let Some(name) = patch.name {
                f.name = name;
            }
            f.price = patch.price.unwrap_or(f.price);
            f.stock = patch.stock.unwrap_or(f.stock);
            if let Some(url) = patch.image_url {
                f.image_url = url;
            }
            if let Some(group_buy) = patch.group_buy {
                f.group_buy = group_buy;
            }
            Some(row)
        }
        (Some(old), ProductWrite::Unlist) => Some(ProductRow {
            listed: false,
            ..old.clone()
        }),
        _ => None,
    }
}

/// Applies the writes in one transaction, run again when Postgres breaks a
/// deadlock with another writer of the same products (see [`locked`]).
pub(super) async fn write(
    pool: &PgPool,
    store: &str,
    currency: &str,
    writes: Vec<(String, ProductWrite, String)>,
    now_ms: i64,
) -> Result<Vec<ProductOutcome>> {
    let mut attempt = 1;
    loop {
        match write_once(pool, store, currency, writes.clone(), now_ms).await {
            Err(e) if attempt < ATTEMPTS && worth_retrying(&e) => attempt += 1,
            done => return done,
        }
    }
}

/// Locks what the writes read before reading it (SQLite's `BEGIN
/// IMMEDIATE` did): the products of the batch that exist, in sku order,
/// then the products cursor lock, which every writer of a product's synced
/// fields takes (the trigger) and holds to its end. Rows first, then the
/// cursor lock, is the order a single `UPDATE products` takes them in too;
/// holding the cursor lock, the reads see every committed product (no
/// creator of one is in flight) and the new positions cannot collide.
async fn locked(conn: &mut PgConnection, store: &str, skus: &[&str]) -> Result<()> {
    sqlx::query(
        "SELECT sku FROM products WHERE store_id = $1 AND sku = ANY($2)
         ORDER BY sku FOR UPDATE",
    )
    .bind(store)
    .bind(skus)
    .execute(&mut *conn)
    .await?;
    sqlx::query("SELECT cursor_lock('products')")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn write_once(
    pool: &PgPool,
    store: &str,
    currency: &str,
    writes: Vec<(String, ProductWrite, String)>,
    now_ms: i64,
) -> Result<Vec<ProductOutcome>> {
    let mut tx = pool.begin().await?;
    let skus: Vec<&str> = writes.iter().map(|(sku, _, _)| sku.as_str()).collect();
    locked(&mut tx, store, &skus).await?;
    let mut outcomes = Vec::with_capacity(writes.len());
    for (sku, write, color) in writes {
        let before = read(&mut tx, store, &sku).await?;
        let Some(after) = next(before.as_ref(), write, color) else {
            // A patch or unlisting of a product the store does not list.
            outcomes.push(ProductOutcome {
                sku,
                status: ItemStatus::Error,
                before,
                after: None,
            });
            continue;
        };
        let status = match &before {
            Some(old) if *old == after => ItemStatus::Unchanged,
            Some(_) => ItemStatus::Updated,
            None => ItemStatus::Created,
        };
        let f = &after.fields;
        let unlisted_at = (!after.listed).then_some(now_ms);
        match status {
            ItemStatus::Created => {
                sqlx::query(
                    "INSERT INTO products (store_id, sku, name, price, currency, stock, color,
                         group_buy_min, group_buy_price, image_url, updated_at, position)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                         (SELECT COALESCE(MAX(position), -1) + 1 FROM products
                          WHERE store_id = $1))",
                )
                .bind(store)
                .bind(&sku)
                .bind(&f.name)
                .bind(f.price)
                .bind(currency)
                .bind(f.stock)
                .bind(&after.color)
                .bind(f.group_buy.as_ref().map(|g| g.min_quantity))
                .bind(f.group_buy.as_ref().map(|g| g.price))
                .bind(&f.image_url)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            }
            ItemStatus::Updated => {
                sqlx::query(
                    "UPDATE products SET name = $1, price = $2, stock = $3, group_buy_min = $4,
                         group_buy_price = $5, image_url = $6,
                         unlisted_at = CASE WHEN $7::BIGINT IS NULL THEN NULL
                                            ELSE COALESCE(unlisted_at, $7) END,
                         updated_at = $8
                     WHERE store_id = $9 AND sku = $10",
                )
                .bind(&f.name)
                .bind(f.price)
                .bind(f.stock)
                .bind(f.group_buy.as_ref().map(|g| g.min_quantity))
                .bind(f.group_buy.as_ref().map(|g| g.price))
                .bind(&f.image_url)
                .bind(unlisted_at)
                .bind(now_ms)
                .bind(store)
                .bind(&sku)
                .execute(&mut *tx)
                .await?;
            }
            ItemStatus::Unchanged | ItemStatus::Error => {}
        }
        outcomes.push(ProductOutcome {
            sku,
            status,
            before,
            after: Some(after),
        });
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// Products by change sequence. The sequence is taken under the cursor
/// lock, held until the writing transaction ends, so a page never passes a
/// change still to commit.
pub(super) async fn changed(
    pool: &PgPool,
    store: &str,
    since: i64,
    after: i64,
    limit: usize,
) -> Result<Vec<(i64, SyncProduct)>> {
    let rows = sqlx::query(
        "SELECT sku, name, price, currency, stock, image_url, group_buy_min, group_buy_price,
                unlisted_at, updated_at, change_seq
         FROM products
         WHERE store_id = $1 AND change_seq > $2 AND updated_at >= $3
         ORDER BY change_seq LIMIT $4",
    )
    .bind(store)
    .bind(after)
    .bind(since)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| {
            let sku: String = row.get("sku");
            let f = fields(row);
            let product = SyncProduct {
                image_url: f.image_url.unwrap_or_else(|| image_url(store, &sku)),
                sku,
                name: f.name,
                price: f.price,
                currency: row.get("currency"),
                stock: f.stock,
                group_buy: f.group_buy,
                updated_at: row.get("updated_at"),
                deleted: row.get::<Option<i64>, _>("unlisted_at").is_some(),
            };
            (row.get("change_seq"), product)
        })
        .collect())
}
