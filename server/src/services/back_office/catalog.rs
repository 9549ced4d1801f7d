//! Catalog sync: bulk upserts by sku, partial updates, unlisting, and the
//! changes since a cursor. Each sync commits, then puts the new catalog in
//! force in memory, within the store's turn (see the module overview).

use cartroom_protocol::ErrorCode;
use cartroom_protocol::back_office::{
    ItemStatus, MAX_BATCH_ITEMS, ProductPatch, ProductResult, ProductUpsert, ProductsPage,
    SyncProduct, UpsertProductsResponse,
};
use cartroom_protocol::http::{ErrorDetail, Product};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{BackOfficeService, StoreKey, no_product, validate};
use crate::catalog::{Catalog, Listing, image_url};
use crate::refusal::Refusal;
use crate::services::error::Result;
use crate::store::back_office::{ProductFields, ProductOutcome, ProductWrite};

/// Colours of the pictures the server draws for synced products.
const PALETTE: &[&str] = &[
    "#2f6fdb", "#d9433b", "#4c9a2a", "#5b3a29", "#8e44ad", "#e67e22", "#16a085", "#c0392b",
];

/// A new product's colour: the same for a sku on every node.
fn color_of(sku: &str) -> String {
    let digest = Sha256::digest(sku.as_bytes());
    PALETTE[usize::from(digest[0]) % PALETTE.len()].to_owned()
}

fn refusal_detail(r: Refusal) -> ErrorDetail {
    ErrorDetail {
        code: r.code,
        message: r.message,
    }
}

/// The catalog after `outcomes`: fields as written, stock moved by the
/// delta each transaction made (orders may have moved it meanwhile).
fn apply(current: &Catalog, outcomes: &[ProductOutcome]) -> Vec<Listing> {
    let store = &current.store;
    let mut listings = current.listings().to_vec();
    for outcome in outcomes {
        let Some(after) = &outcome.after else {
            continue;
        };
        if !matches!(outcome.status, ItemStatus::Created | ItemStatus::Updated) {
            continue;
        }
        let at = listings.iter().position(|l| l.product.sku == outcome.sku);
        let f = &after.fields;
        let stock = match (&outcome.before, at) {
            (Some(before), Some(i)) if before.listed => {
                listings[i].product.stock + (f.stock - before.fields.stock)
            }
            _ => f.stock,
        };
        let listing = Listing {
            product: Product {
                sku: outcome.sku.clone(),
                name: f.name.clone(),
                price: f.price,
                currency: store.currency.clone(),
                stock,
                image_url: f
                    .image_url
                    .clone()
                    .unwrap_or_else(|| image_url(&store.id, &outcome.sku)),
                group_buy: f.group_buy.clone(),
            },
            color: after.color.clone(),
        };
        match (after.listed, at) {
            (false, Some(i)) => {
                listings.remove(i);
            }
            (false, None) => {}
            (true, Some(i)) => listings[i] = listing,
            (true, None) => listings.push(listing),
        }
    }
    listings
}

impl BackOfficeService {
    /// Writes, then puts the result in force in memory, in the store's turn.
    async fn sync(
        &self,
        store: &str,
        writes: Vec<(String, ProductWrite, String)>,
    ) -> Result<Vec<ProductOutcome>> {
        let handle = self
            .catalogs
            .get(store)
            .ok_or_else(|| Refusal::new(ErrorCode::StoreNotFound, "no such store"))?;
        let currency = handle.current().store.currency.clone();
        // Held across the transaction and the swap in memory.
        let _turn = match self.sync_turns.get(store) {
            Some(turn) => Some(turn.lock().await),
            None => None,
        };
        let now = self.clock.now_ms();
        let outcomes = self
            .store
            .write_products(store, &currency, writes, now)
            .await?;
        let changed = outcomes
            .iter()
            .any(|o| matches!(o.status, ItemStatus::Created | ItemStatus::Updated));
        if changed {
            handle.update(|current| apply(current, &outcomes));
        }
        Ok(outcomes)
    }

    /// Creates or replaces each product by sku; a bad item is reported
    /// and the others applied. Open carts follow the new catalog version
    /// by themselves (`room::catalog`).
    pub async fn upsert_products(
        &self,
        key: &StoreKey,
        items: Vec<Value>,
    ) -> Result<UpsertProductsResponse> {
        if items.len() > MAX_BATCH_ITEMS {
            return Err(Refusal::new(
                ErrorCode::InvalidField,
                format!("products: at most {MAX_BATCH_ITEMS} per request"),
            )
            .into());
        }
        let currency = self
            .catalogs
            .get(&key.store_id)
            .map(|c| c.current().store.currency.clone())
            .unwrap_or_default();
        let mut results = Vec::with_capacity(items.len());
        let mut writes = Vec::new();
        for value in items {
            let sku = value
                .get("sku")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let checked = serde_json::from_value::<ProductUpsert>(value)
                .map_err(|e| Refusal::new(ErrorCode::InvalidField, e.to_string()))
                .and_then(|item| validate::upsert(&item, &currency));
            match checked {
                Ok(fields) => {
                    let color = color_of(&sku);
                    writes.push((sku.clone(), ProductWrite::Upsert(fields), color));
                    results.push(ProductResult {
                        sku,
                        status: ItemStatus::Unchanged,
                        error: None,
                    });
                }
                Err(refusal) => results.push(ProductResult {
                    sku,
                    status: ItemStatus::Error,
                    error: Some(refusal_detail(refusal)),
                }),
            }
        }
        let outcomes = self.sync(&key.store_id, writes).await?;
        // Outcomes come in the order of the valid items.
        let mut outcomes = outcomes.into_iter();
        for result in results.iter_mut().filter(|r| r.error.is_none()) {
            if let Some(outcome) = outcomes.next() {
                result.status = outcome.status;
            }
        }
        Ok(UpsertProductsResponse { results })
    }

    /// Changes the fields given of a listed product: `not_found` for a sku
    /// the store does not list. The product as it now is.
    pub async fn patch_product(
        &self,
        key: &StoreKey,
        sku: &str,
        patch: &ProductPatch,
    ) -> Result<SyncProduct> {
        validate::sku(sku)?;
        let fields = validate::patch(patch)?;
        if let Some(current) = self
            .catalogs
            .get(&key.store_id)
            .and_then(|c| c.current().get(sku).cloned())
        {
            // The tier against the price, as the patch leaves them.
            validate::merged(&ProductFields {
                name: current.name,
                price: fields.price.unwrap_or(current.price),
                stock: current.stock,
                image_url: None,
                group_buy: fields.group_buy.clone().unwrap_or(current.group_buy),
            })?;
        }
        let write = (sku.to_owned(), ProductWrite::Patch(fields), color_of(sku));
        let outcome = self.sync(&key.store_id, vec![write]).await?.pop();
        let Some(ProductOutcome {
            after: Some(after), ..
        }) = outcome
        else {
            return Err(no_product(sku).into());
        };
        let f = after.fields;
        let currency = self
            .catalogs
            .get(&key.store_id)
            .map(|c| c.current().store.currency.clone())
            .unwrap_or_default();
        let product = SyncProduct {
            sku: sku.to_owned(),
            name: f.name,
            price: f.price,
            currency,
            stock: f.stock,
            image_url: f.image_url.unwrap_or_else(|| image_url(&key.store_id, sku)),
            group_buy: f.group_buy,
            updated_at: self.clock.now_ms(),
            deleted: false,
        };
        Ok(product)
    }

    /// Unlists a product (again: nothing changes); `not_found` for a sku
    /// the store never had.
    pub async fn unlist_product(&self, key: &StoreKey, sku: &str) -> Result<()> {
        validate::sku(sku)?;
        let write = (sku.to_owned(), ProductWrite::Unlist, color_of(sku));
        match self.sync(&key.store_id, vec![write]).await?.pop() {
            Some(o) if o.status == ItemStatus::Error => Err(no_product(sku).into()),
            Some(_) => Ok(()),
            None => Err(no_product(sku).into()),
        }
    }

    /// Products changed after the cursor and at or after `since`.
    pub async fn products(
        &self,
        key: &StoreKey,
        since: i64,
        after: i64,
        limit: usize,
    ) -> Result<ProductsPage> {
        // One more than asked tells whether there are more.
        let mut rows = self
            .store
            .changed_products(&key.store_id, since, after, limit + 1)
            .await?;
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        let cursor = rows.last().map_or(after, |(seq, _)| *seq);
        Ok(ProductsPage {
            products: rows.into_iter().map(|(_, p)| p).collect(),
            cursor: cursor.to_string(),
            has_more,
        })
    }
}

#[cfg(test)]
mod tests {
    use cartroom_protocol::http::StoreInfo;

    use super::*;
    use crate::store::back_office::ProductRow;

    fn row(name: &str, stock: i64, listed: bool) -> ProductRow {
        ProductRow {
            fields: ProductFields {
                name: name.into(),
                price: 1200,
                stock,
                image_url: None,
                group_buy: None,
            },
            color: "#2f6fdb".into(),
            listed,
        }
    }

    fn catalog(mug_stock: i64) -> Catalog {
        let store = StoreInfo {
            id: "demo".into(),
            name: "Demo".into(),
            currency: "USD".into(),
            time_zone: "UTC".into(),
        };
        let listing = |sku: &str, stock| Listing {
            product: Product {
                sku: sku.into(),
                name: sku.into(),
                price: 1200,
                currency: "USD".into(),
                stock,
                image_url: image_url("demo", sku),
                group_buy: None,
            },
            color: "#2f6fdb".into(),
        };
        Catalog::new(store, vec![listing("MUG", mug_stock), listing("OLD", 3)])
    }

    fn outcome(
        sku: &str,
        status: ItemStatus,
        before: Option<ProductRow>,
        after: ProductRow,
    ) -> ProductOutcome {
        ProductOutcome {
            sku: sku.into(),
            status,
            before,
            after: Some(after),
        }
    }

    #[test]
    fn stock_moves_by_the_transaction_s_delta_so_a_concurrent_order_is_kept() {
        // The sync read 10 and wrote 20; an order took one unit in memory
        // since (its own delta): memory ends at 19, as the database does.
        let outcomes = [outcome(
            "MUG",
            ItemStatus::Updated,
            Some(row("Mug", 10, true)),
            row("Big Mug", 20, true),
        )];
        let listings = apply(&catalog(9), &outcomes);
        assert_eq!(listings[0].product.stock, 19);
        assert_eq!(listings[0].product.name, "Big Mug");
    }

    #[test]
    fn new_products_are_added_and_unlisted_ones_removed() {
        let outcomes = [
            outcome("NEW", ItemStatus::Created, None, row("New", 5, true)),
            outcome(
                "OLD",
                ItemStatus::Updated,
                Some(row("OLD", 3, true)),
                row("OLD", 3, false),
            ),
            outcome(
                "MUG",
                ItemStatus::Unchanged,
                Some(row("MUG", 9, true)),
                row("MUG", 9, true),
            ),
        ];
        let listings = apply(&catalog(9), &outcomes);
        let skus: Vec<&str> = listings.iter().map(|l| l.product.sku.as_str()).collect();
        assert_eq!(skus, ["MUG", "NEW"]);
        assert_eq!(listings[1].product.stock, 5);
        assert_eq!(listings[1].product.image_url, image_url("demo", "NEW"));
    }
}
