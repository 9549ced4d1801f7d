//! The store API's use cases (`docs/protocol.md` section 14): API keys
//! managed by the store's owners ([`keys`]), and what a back office does
//! with one: sync the catalog ([`catalog`]) and the customers
//! ([`customers`]), export orders and confirm them ([`orders`]).
//! [`validate`] holds the bounds of every field.
//!
//! A catalog sync writes the database and then the catalog in memory; the
//! syncs of one store take turns (a lock per store held across both), so
//! that names and prices land in memory in the order they were committed.
//! Stock moves in memory by the delta the transaction made, so that orders
//! taking stock at the same time are not undone.

pub mod catalog;
pub mod customers;
pub mod keys;
pub mod orders;
pub mod validate;

use std::collections::HashMap;
use std::sync::Arc;

use cartroom_protocol::ErrorCode;

use super::OrderService;
use super::error::Result;
use crate::catalog::Catalogs;
use crate::clock::Clock;
use crate::refusal::Refusal;
use crate::store::{BackOfficeStore, Orders, StoreStaff};

pub use keys::StoreKey;

/// The store API.
pub struct BackOfficeService {
    store: Arc<dyn BackOfficeStore>,
    /// Who owns the store (only owners manage keys).
    staff: Arc<dyn StoreStaff>,
    orders: Arc<dyn Orders>,
    /// Status changes go through the same service as the staff's.
    order_service: Arc<OrderService>,
    catalogs: Catalogs,
    clock: Arc<dyn Clock>,
    /// One per store: catalog syncs of a store take turns (see the module).
    sync_turns: HashMap<String, tokio::sync::Mutex<()>>,
}

/// What the store API is built from.
pub struct BackOfficeDeps {
    pub store: Arc<dyn BackOfficeStore>,
    pub staff: Arc<dyn StoreStaff>,
    pub orders: Arc<dyn Orders>,
    pub order_service: Arc<OrderService>,
    pub catalogs: Catalogs,
    pub clock: Arc<dyn Clock>,
}

impl BackOfficeService {
    pub fn new(deps: BackOfficeDeps) -> Self {
        let sync_turns = deps
            .catalogs
            .stores()
            .into_iter()
            .map(|s| (s.id, tokio::sync::Mutex::new(())))
            .collect();
        Self {
            store: deps.store,
            staff: deps.staff,
            orders: deps.orders,
            order_service: deps.order_service,
            catalogs: deps.catalogs,
            clock: deps.clock,
            sync_turns,
        }
    }

    /// The store API's storage, for the idempotency of its requests.
    pub fn store(&self) -> &Arc<dyn BackOfficeStore> {
        &self.store
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

/// `not_found` for a sku the store does not list.
fn no_product(sku: &str) -> Refusal {
    Refusal::new(
        ErrorCode::NotFound,
        format!("the store lists no product {sku:?}"),
    )
}

/// A page's cursor: the sequence of its last item (opaque to clients).
pub fn parse_cursor(after: Option<&str>) -> Result<i64> {
    match after {
        None | Some("") => Ok(0),
        Some(s) => s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            Refusal::new(
                ErrorCode::InvalidField,
                "after: pass the cursor of a page as it was given",
            )
            .into()
        }),
    }
}

/// The page size asked for, within `1..=max` (`default` when absent).
pub fn page_limit(limit: Option<usize>, default: usize, max: usize) -> Result<usize> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(Refusal::new(ErrorCode::InvalidField, format!("limit: 1 to {max}")).into()),
    }
}
