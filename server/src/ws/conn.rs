//! One connection as rooms see it: a bounded outbound queue that rooms
//! fill without waiting.

use std::collections::HashSet;
use std::sync::Mutex;

use cartroom_protocol::{CartId, ConnId};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cart::Actor;
use crate::room::{Frame, Subscriber};

/// The room-facing half of a WebSocket connection.
#[derive(Debug)]
pub struct Conn {
    pub id: ConnId,
    pub actor: Actor,
    /// Drained by the connection's writer task.
    pub outbound: mpsc::Sender<Frame>,
    /// Cancelled when the outbound queue is full: the connection then
    /// closes with 4008 (slow consumer).
    pub too_slow: CancellationToken,
    /// The carts this connection is subscribed to (or asked to be): the
    /// reader adds and removes its own, rooms remove those they end.
    /// Locked only to read or change the set; nothing awaits under it.
    subscriptions: Mutex<HashSet<CartId>>,
}

impl Conn {
    pub fn new(id: ConnId, actor: Actor, outbound: mpsc::Sender<Frame>) -> Self {
        Self {
            id,
            actor,
            outbound,
            too_slow: CancellationToken::new(),
            subscriptions: Mutex::default(),
        }
    }

    fn subscriptions(&self) -> std::sync::MutexGuard<'_, HashSet<CartId>> {
        self.subscriptions.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_subscribed(&self, cart: CartId) -> bool {
        self.subscriptions().contains(&cart)
    }

    /// Adds a subscription unless `max` are held already; false when full.
    pub fn add_subscription(&self, cart: CartId, max: usize) -> bool {
        let mut subscriptions = self.subscriptions();
        if !subscriptions.contains(&cart) && subscriptions.len() >= max {
            return false;
        }
        subscriptions.insert(cart);
        true
    }

    /// Removes a subscription; false when there was none.
    pub fn remove_subscription(&self, cart: CartId) -> bool {
        self.subscriptions().remove(&cart)
    }

    /// Every subscription, taken out (the connection is closing).
    pub fn take_subscriptions(&self) -> Vec<CartId> {
        self.subscriptions().drain().collect()
    }
}

impl Subscriber for Conn {
    fn conn_id(&self) -> ConnId {
        self.id
    }

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn deliver(&self, frame: Frame) -> bool {
        match self.outbound.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::debug!(
                    conn_id = %self.id,
                    "outbound queue full: closing as a slow consumer"
                );
                metrics::counter!("cartroom_slow_consumers_total").increment(1);
                self.too_slow.cancel();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    fn unsubscribed(&self, cart: CartId) {
        self.remove_subscription(cart);
    }
}
