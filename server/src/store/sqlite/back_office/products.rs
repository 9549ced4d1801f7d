//! Products as a back office syncs them: each write reads the row before
//! and after in one transaction, so that the caller can move the catalog in
//! memory by the same delta.

use cartroom_protocol::back_office::{ItemStatus, SyncProduct};
use cartroom_protocol::http::GroupBuy;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool};

use crate::catalog::image_url;
use crate::store::Result;
use crate::store::back_office::{ProductFields, ProductOutcome, ProductRow, ProductWrite};

fn fields(row: &SqliteRow) -> ProductFields {
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

async fn read(conn: &mut SqliteConnection, store: &str, sku: &str) -> Result<Option<ProductRow>> {
    let row = sqlx::query(
        "SELECT name, price, stock, image_url, group_buy_min, group_buy_price, color, unlisted_at
         FROM products WHERE store_id = ? AND sku = ?",
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

pub(super) async fn write(
    pool: &SqlitePool,
    store: &str,
    currency: &str,
    writes: Vec<(String, ProductWrite, String)>,
    now_ms: i64,
) -> Result<Vec<ProductOutcome>> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
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
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,
                         (SELECT COALESCE(MAX(position), -1) + 1 FROM products WHERE store_id = ?1))",
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
                    "UPDATE products SET name = ?, price = ?, stock = ?, group_buy_min = ?,
                         group_buy_price = ?, image_url = ?,
                         unlisted_at = CASE WHEN ? IS NULL THEN NULL ELSE COALESCE(unlisted_at, ?) END,
                         updated_at = ?
                     WHERE store_id = ? AND sku = ?",
                )
                .bind(&f.name)
                .bind(f.price)
                .bind(f.stock)
                .bind(f.group_buy.as_ref().map(|g| g.min_quantity))
                .bind(f.group_buy.as_ref().map(|g| g.price))
                .bind(&f.image_url)
                .bind(unlisted_at)
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

pub(super) async fn changed(
    pool: &SqlitePool,
    store: &str,
    since: i64,
    after: i64,
    limit: usize,
) -> Result<Vec<(i64, SyncProduct)>> {
    let rows = sqlx::query(
        "SELECT sku, name, price, currency, stock, image_url, group_buy_min, group_buy_price,
                unlisted_at, updated_at, change_seq
         FROM products
         WHERE store_id = ? AND change_seq > ? AND updated_at >= ?
         ORDER BY change_seq LIMIT ?",
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
