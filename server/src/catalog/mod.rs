//! The store's catalog: prices, stock and pictures are the server's, never a
//! client's. Seeded with a demo store on first start, then read from the
//! database into memory, so that validating an op never waits on a query.
//!
//! Rooms read it through a [`CatalogHandle`], which a catalog sync can swap
//! for a new version at once: every op is validated against one consistent
//! version.

pub mod demo;
pub mod picture;

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use cartroom_protocol::http::{Product, StoreInfo};

/// A product as the server keeps it: what clients see, and the colour its
/// picture is drawn in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    pub product: Product,
    pub color: String,
}

/// The store and its products, in catalog order.
#[derive(Debug)]
pub struct Catalog {
    pub store: StoreInfo,
    listings: Vec<Listing>,
    by_sku: HashMap<String, usize>,
}

impl Catalog {
    pub fn new(store: StoreInfo, listings: Vec<Listing>) -> Self {
        let by_sku = listings
            .iter()
            .enumerate()
            .map(|(i, l)| (l.product.sku.clone(), i))
            .collect();
        Self {
            store,
            listings,
            by_sku,
        }
    }

    pub fn listing(&self, sku: &str) -> Option<&Listing> {
        self.by_sku.get(sku).map(|&i| &self.listings[i])
    }

    pub fn get(&self, sku: &str) -> Option<&Product> {
        self.listing(sku).map(|l| &l.product)
    }

    /// Every listing, in catalog order.
    pub fn listings(&self) -> &[Listing] {
        &self.listings
    }

    /// Products whose name or sku contains `query`, case-insensitively.
    pub fn search(&self, query: Option<&str>) -> Vec<Product> {
        let query = query.map(str::to_lowercase).unwrap_or_default();
        self.listings
            .iter()
            .map(|l| &l.product)
            .filter(|p| {
                query.is_empty()
                    || p.name.to_lowercase().contains(&query)
                    || p.sku.to_lowercase().contains(&query)
            })
            .cloned()
            .collect()
    }
}

/// The catalog in force. Readers take a snapshot ([`CatalogHandle::current`])
/// and keep it for the whole of one op; a sync replaces it atomically.
#[derive(Clone, Debug)]
pub struct CatalogHandle(Arc<ArcSwap<Catalog>>);

impl CatalogHandle {
    pub fn new(catalog: Catalog) -> Self {
        Self(Arc::new(ArcSwap::from_pointee(catalog)))
    }

    /// The catalog in force now.
    pub fn current(&self) -> Arc<Catalog> {
        self.0.load_full()
    }

    /// Puts a new version in force with each sku's stock moved by its
    /// delta: an order takes units, a cancelled order returns them. Deltas
    /// of concurrent callers compose (compare-and-swap, retried).
    pub fn adjust_stock(&self, deltas: &[(String, i64)]) {
        self.0.rcu(|current| {
            let mut listings = current.listings.clone();
            for (sku, delta) in deltas {
                if let Some(&i) = current.by_sku.get(sku) {
                    listings[i].product.stock += delta;
                }
            }
            Catalog::new(current.store.clone(), listings)
        });
    }
}
