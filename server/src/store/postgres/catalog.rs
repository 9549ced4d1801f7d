//! The stores and their products.
//!
//! As on SQLite. Two nodes seeding one store at once: the second's insert
//! of the store waits on the key for the first to commit, then inserts
//! nothing and reports "not written", so the listings are written once.
//! Each product insert takes the products' cursor lock in its trigger (see
//! the schema) until the seed commits.

use async_trait::async_trait;
use cartroom_protocol::http::{GroupBuy, Product, StoreInfo};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::PgStore;
use crate::catalog::{Catalog, Listing, image_url};
use crate::store::{CatalogStore, Result};

#[async_trait]
impl CatalogStore for PgStore {
    async fn seed(&self, catalog: &Catalog) -> Result<bool> {
        let store = &catalog.store;
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO stores (id, name, currency, time_zone) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(&store.id)
        .bind(&store.name)
        .bind(&store.currency)
        .bind(&store.time_zone)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        for (position, listing) in catalog.listings().iter().enumerate() {
            let p = &listing.product;
            sqlx::query(
                "INSERT INTO products (sku, store_id, name, price, currency, stock, color,
                                       group_buy_min, group_buy_price, position)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&p.sku)
            .bind(&store.id)
            .bind(&p.name)
            .bind(p.price)
            .bind(&p.currency)
            .bind(p.stock)
            .bind(&listing.color)
            .bind(p.group_buy.as_ref().map(|g| g.min_quantity))
            .bind(p.group_buy.as_ref().map(|g| g.price))
            .bind(position as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn load_catalogs(&self) -> Result<Vec<Catalog>> {
        // COLLATE "C": ids in byte order, as SQLite's BINARY sorts them.
        let stores = sqlx::query(
            r#"SELECT id, name, currency, time_zone FROM stores ORDER BY id COLLATE "C""#,
        )
        .fetch_all(&self.pool)
        .await?;
        let mut catalogs = Vec::with_capacity(stores.len());
        for row in stores {
            let store = StoreInfo {
                id: row.get("id"),
                name: row.get("name"),
                currency: row.get("currency"),
                time_zone: row.get("time_zone"),
            };
            let listings = sqlx::query(
                "SELECT sku, name, price, currency, stock, color, group_buy_min, group_buy_price,
                        image_url
                 FROM products WHERE store_id = $1 AND unlisted_at IS NULL ORDER BY position",
            )
            .bind(&store.id)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| listing(&store.id, &r))
            .collect();
            catalogs.push(Catalog::new(store, listings));
        }
        Ok(catalogs)
    }
}

fn listing(store: &str, r: &PgRow) -> Listing {
    let sku: String = r.get("sku");
    let min: Option<i64> = r.get("group_buy_min");
    let price: Option<i64> = r.get("group_buy_price");
    Listing {
        product: Product {
            // A picture given by the store's back office, or the one drawn here.
            image_url: r
                .get::<Option<String>, _>("image_url")
                .unwrap_or_else(|| image_url(store, &sku)),
            sku,
            name: r.get("name"),
            price: r.get("price"),
            currency: r.get("currency"),
            stock: r.get("stock"),
            group_buy: min.zip(price).map(|(min_quantity, price)| GroupBuy {
                min_quantity,
                price,
            }),
        },
        color: r.get("color"),
    }
}
