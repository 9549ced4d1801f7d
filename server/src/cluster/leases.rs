//! This node's cart leases: taken when a room loads, renewed while it
//! runs, given up when it unloads. A lease that could not be renewed (the
//! node was paused, or cut off from the database, for longer than the
//! lease) is lost: its room hears it at once and unloads, and its records
//! still queued are refused by the writer's fencing anyway. So a room is
//! never left running without its lease, and a lease never outlives its
//! room by more than one renewal period.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cartroom_protocol::CartId;
use tokio_util::sync::CancellationToken;

use crate::store::{Acquired, Leases, Result};

/// How long leases last and who holds them.
#[derive(Clone, Debug)]
pub struct LeaseSettings {
    /// This node's name in the leases table.
    pub node: String,
    /// A lease lapses this long after its last renewal; it is renewed
    /// every third of it.
    pub ttl: Duration,
}

/// A cart's lease as its room holds it.
#[derive(Clone, Debug)]
pub struct Lease {
    pub term: i64,
    /// Cancelled when the lease is lost.
    pub lost: CancellationToken,
}

/// The outcome of asking for a lease, as a room sees it.
#[derive(Debug)]
pub enum Taken {
    Held(Lease),
    /// Another node runs the cart's room.
    Elsewhere {
        node: String,
    },
    NoCart,
}

/// Takes, renews and gives up this node's leases.
pub struct LeaseKeeper {
    store: Arc<dyn Leases>,
    settings: LeaseSettings,
    held: Mutex<HashMap<CartId, Lease>>,
}

impl LeaseKeeper {
    pub fn new(store: Arc<dyn Leases>, settings: LeaseSettings) -> Arc<Self> {
        Arc::new(Self {
            store,
            settings,
            held: Mutex::new(HashMap::new()),
        })
    }

    pub fn node(&self) -> &str {
        &self.settings.node
    }

    /// Takes the cart's lease for a room about to load.
    pub async fn acquire(&self, cart: CartId) -> Result<Taken> {
        let acquired = self
            .store
            .acquire(cart, &self.settings.node, self.settings.ttl)
            .await?;
        Ok(match acquired {
            Acquired::Held { term } => {
                let lease = Lease {
                    term,
                    lost: CancellationToken::new(),
                };
                let replaced = self.held().insert(cart, lease.clone());
                // A newer term of ours fences the older room.
                if let Some(old) = replaced {
                    old.lost.cancel();
                }
                self.count();
                Taken::Held(lease)
            }
            Acquired::Elsewhere { node } => Taken::Elsewhere { node },
            Acquired::NoCart => Taken::NoCart,
        })
    }

    /// Gives the lease up once its room has unloaded (its commits done).
    pub async fn release(&self, cart: CartId, term: i64) {
        {
            let mut held = self.held();
            if held.get(&cart).is_some_and(|l| l.term == term) {
                held.remove(&cart);
            }
        }
        self.count();
        if let Err(e) = self.store.release(cart, &self.settings.node, term).await {
            // It lapses by itself within one lease.
            tracing::warn!(error = %e, cart_id = %cart, "giving a lease up failed");
        }
    }

    /// Renews every lease held, every third of a lease, until shutdown;
    /// tells the rooms of those lost.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut every = tokio::time::interval(self.settings.ttl / 3);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = every.tick() => self.renew().await,
            }
        }
    }

    async fn renew(&self) {
        let held: Vec<(CartId, i64)> = self.held().iter().map(|(c, l)| (*c, l.term)).collect();
        let lost = match self
            .store
            .renew(&self.settings.node, &held, self.settings.ttl)
            .await
        {
            Ok(lost) => lost,
            Err(e) => {
                // Not lost yet: the writer's fencing refuses commits once
                // they lapse, and the next renewal may still succeed.
                tracing::warn!(error = %e, "renewing leases failed");
                return;
            }
        };
        let mut held = self.held();
        for cart in lost {
            if let Some(lease) = held.remove(&cart) {
                tracing::warn!(cart_id = %cart, term = lease.term, "lost the cart's lease; unloading its room");
                metrics::counter!("cartroom_leases_lost_total").increment(1);
                lease.lost.cancel();
            }
        }
        drop(held);
        self.count();
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<CartId, Lease>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self) {
        metrics::gauge!("cartroom_leases_held").set(self.held().len() as f64);
    }
}
