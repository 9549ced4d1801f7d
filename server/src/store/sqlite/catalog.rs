//! The store and its products.

use async_trait::async_trait;
use cartroom_protocol::http::{GroupBuy, Product, StoreInfo};
use sqlx::Row;

use super::SqliteStore;
use crate::catalog::{Catalog, Listing};
use crate::store::{CatalogStore, Result};

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn seed(&self, catalog: &Catalog) -> Result<bool> {
        let store = &catalog.store;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let inserted =
            sqlx::query("INSERT OR IGNORE INTO stores (id, name, currency) VALUES (?, ?, ?)")
                .bind(&store.id)
                .bind(&store.name)
                .bind(&store.currency)
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
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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

    async fn load_catalog(&self) -> Result<Option<Catalog>> {
        let Some(store) = sqlx::query("SELECT id, name, currency FROM stores ORDER BY id LIMIT 1")
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let store = StoreInfo {
            id: store.get("id"),
            name: store.get("name"),
            currency: store.get("currency"),
        };
        let rows = sqlx::query(
            "SELECT sku, name, price, currency, stock, color, group_buy_min, group_buy_price
             FROM products WHERE store_id = ? ORDER BY position",
        )
        .bind(&store.id)
        .fetch_all(&self.pool)
        .await?;
        let listings = rows
            .into_iter()
            .map(|r| {
                let sku: String = r.get("sku");
                let min: Option<i64> = r.get("group_buy_min");
                let price: Option<i64> = r.get("group_buy_price");
                Listing {
                    product: Product {
                        image_url: format!("/images/{sku}.svg"),
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
            })
            .collect();
        Ok(Some(Catalog::new(store, listings)))
    }
}
