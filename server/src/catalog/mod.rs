//! The stores' catalogs: prices, stock and pictures are the server's, never
//! a client's. Seeded with the demo stores on first start, then read from
//! the database into memory, so that validating an op never waits on a
//! query.
//!
//! Each store has its own [`CatalogHandle`], which a catalog sync can swap
//! for a new version at once: every op is validated against one consistent
//! version of its cart's store. [`Catalogs`] holds them all. With many
//! nodes, each new version made here is told to the other nodes, which
//! read the store's catalog again from the database
//! (`cluster::bus`).

pub mod demo;
pub mod picture;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use cartroom_protocol::ErrorCode;
use cartroom_protocol::http::{Product, StoreInfo};
use tokio::sync::{mpsc, watch};

use crate::refusal::Refusal;

/// A product as the server keeps it: what clients see, and the colour its
/// picture is drawn in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    pub product: Product,
    pub color: String,
}

/// Where a product's picture is served (`http/catalog.rs`).
pub fn image_url(store: &str, sku: &str) -> String {
    format!("/images/{sku}.svg?store={store}")
}

/// The store and its products, in catalog order.
#[derive(Debug)]
pub struct Catalog {
    pub store: StoreInfo,
    /// Counts the versions put in force on this node (0: as loaded), so
    /// that a room can tell which version it last followed.
    version: u64,
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
            version: 0,
            listings,
            by_sku,
        }
    }

    pub fn version(&self) -> u64 {
        self.version
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
/// and keep it for the whole of one op; a sync replaces it atomically, and
/// rooms hear of each new version ([`CatalogHandle::watch`]).
#[derive(Clone, Debug)]
pub struct CatalogHandle {
    current: Arc<ArcSwap<Catalog>>,
    /// The latest version put in force.
    versions: Arc<watch::Sender<u64>>,
    /// Many nodes: told the store's id after each version made here.
    peers: Arc<OnceLock<mpsc::Sender<String>>>,
}

impl CatalogHandle {
    pub fn new(catalog: Catalog) -> Self {
        Self::shared(catalog, Arc::default())
    }

    fn shared(catalog: Catalog, peers: Arc<OnceLock<mpsc::Sender<String>>>) -> Self {
        let (versions, _) = watch::channel(catalog.version);
        Self {
            current: Arc::new(ArcSwap::from_pointee(catalog)),
            versions: Arc::new(versions),
            peers,
        }
    }

    /// The catalog in force now.
    pub fn current(&self) -> Arc<Catalog> {
        self.current.load_full()
    }

    /// Wakes on every version put in force from now on.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.versions.subscribe()
    }

    /// Puts in force the listings `edit` makes of the current version, as
    /// the next version. `edit` may run more than once: concurrent callers
    /// compose (compare-and-swap, retried), so it must derive everything
    /// from the version it is given.
    pub fn update(&self, edit: impl Fn(&Catalog) -> Vec<Listing>) {
        self.put(edit);
        if let Some(peers) = self.peers.get() {
            let store = self.current().store.id.clone();
            if peers.try_send(store).is_err() {
                tracing::warn!("the other nodes were not told of a catalog change: queue full");
            }
        }
    }

    /// Puts in force the store's catalog as another node left it in the
    /// database (its listings, as the next version here).
    pub fn replace(&self, listings: Vec<Listing>) {
        self.put(|_| listings.clone());
    }

    fn put(&self, edit: impl Fn(&Catalog) -> Vec<Listing>) {
        let previous = self.current.rcu(|current| {
            let mut next = Catalog::new(current.store.clone(), edit(current));
            next.version = current.version + 1;
            next
        });
        let version = previous.version + 1;
        // Concurrent updates may tell in any order; the watch keeps the latest.
        self.versions
            .send_modify(|latest| *latest = (*latest).max(version));
    }

    /// Puts a new version in force with each sku's stock moved by its
    /// delta: an order takes units, a cancelled order returns them.
    pub fn adjust_stock(&self, deltas: &[(String, i64)]) {
        self.update(|current| {
            let mut listings = current.listings.clone();
            for (sku, delta) in deltas {
                if let Some(&i) = current.by_sku.get(sku) {
                    listings[i].product.stock += delta;
                }
            }
            listings
        });
    }
}

/// Every store of the server and its catalog, by store id. The set of
/// stores is fixed while the node runs; each catalog swaps on its own.
#[derive(Clone, Debug)]
pub struct Catalogs(Arc<BTreeMap<String, CatalogHandle>>);

impl Catalogs {
    pub fn new(catalogs: Vec<Catalog>) -> Self {
        let peers = Arc::new(OnceLock::new());
        Self(Arc::new(
            catalogs
                .into_iter()
                .map(|c| (c.store.id.clone(), CatalogHandle::shared(c, peers.clone())))
                .collect(),
        ))
    }

    /// From now on, tells `peers` the store of each catalog version made
    /// on this node (bounded: what does not fit is dropped and logged).
    pub fn share_with(&self, peers: mpsc::Sender<String>) {
        if let Some(handle) = self.0.values().next() {
            let _ = handle.peers.set(peers);
        }
    }

    /// The store's catalog; `None` for a store the server does not have.
    pub fn get(&self, store: &str) -> Option<&CatalogHandle> {
        self.0.get(store)
    }

    /// The store named, or the default store when none is:
    /// `store_not_found` for an id the server does not have.
    pub fn resolve(&self, store: Option<&str>) -> Result<&CatalogHandle, Refusal> {
        match store {
            None => Ok(self.default_store()),
            Some(id) => self
                .get(id)
                .ok_or_else(|| Refusal::new(ErrorCode::StoreNotFound, format!("no store {id:?}"))),
        }
    }

    /// The store routes mean when they name none: the first by id.
    pub fn default_store(&self) -> &CatalogHandle {
        self.0
            .values()
            .next()
            .expect("a server has at least one store")
    }

    /// Every store, by id.
    pub fn stores(&self) -> Vec<StoreInfo> {
        self.0.values().map(|c| c.current().store.clone()).collect()
    }
}
