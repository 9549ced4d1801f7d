//! One connection as rooms see it: an outlet that rooms send to without
//! waiting.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cartroom_protocol::{CartId, ConnId};

use super::outlet::{NotSent, Outlet};
use crate::cart::Actor;
use crate::room::{Frame, Subscriber};
use crate::services::LiveConnections;

/// How a connection reaches a cart it subscribed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// As a member of the cart.
    Member,
    /// As the store's staff (watching, or during their takeover): each op
    /// is checked against the takeover and made under the agent's support
    /// name.
    Support,
}

/// The room-facing half of a WebSocket connection.
#[derive(Debug)]
pub struct Conn {
    pub id: ConnId,
    pub actor: Actor,
    pub outlet: Arc<Outlet>,
    /// The carts this connection is subscribed to (or asked to be), and
    /// how: the reader adds and removes its own, rooms remove those they
    /// end. Locked only to read or change the map; nothing awaits under it.
    subscriptions: Mutex<HashMap<CartId, Reach>>,
    /// Where the user's subscriptions across connections are counted.
    live: Arc<LiveConnections>,
}

impl Conn {
    pub fn new(id: ConnId, actor: Actor, outlet: Arc<Outlet>, live: Arc<LiveConnections>) -> Self {
        Self {
            id,
            actor,
            outlet,
            subscriptions: Mutex::default(),
            live,
        }
    }

    fn subscriptions(&self) -> std::sync::MutexGuard<'_, HashMap<CartId, Reach>> {
        self.subscriptions.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_subscribed(&self, cart: CartId) -> bool {
        self.subscriptions().contains_key(&cart)
    }

    /// How this connection reaches a cart it is subscribed to.
    pub fn reach(&self, cart: CartId) -> Option<Reach> {
        self.subscriptions().get(&cart).copied()
    }

    /// Adds a subscription unless the user holds `max` across all their
    /// connections already; false when full. A resubscribe keeps its place.
    pub fn add_subscription(&self, cart: CartId, reach: Reach, max: usize) -> bool {
        let mut subscriptions = self.subscriptions();
        if let Some(held) = subscriptions.get_mut(&cart) {
            *held = reach;
            return true;
        }
        if !self.live.take_subscription(self.actor.user_id, max) {
            return false;
        }
        subscriptions.insert(cart, reach);
        true
    }

    /// Removes a subscription; false when there was none.
    pub fn remove_subscription(&self, cart: CartId) -> bool {
        let removed = self.subscriptions().remove(&cart).is_some();
        if removed {
            self.live.release_subscriptions(self.actor.user_id, 1);
        }
        removed
    }

    /// Every subscription, taken out (the connection is closing).
    pub fn take_subscriptions(&self) -> Vec<CartId> {
        let carts: Vec<CartId> = self.subscriptions().drain().map(|(cart, _)| cart).collect();
        self.live
            .release_subscriptions(self.actor.user_id, carts.len());
        carts
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
        match self.outlet.send(frame) {
            Ok(()) => true,
            Err(NotSent::TooSlow) => {
                tracing::debug!(
                    conn_id = %self.id,
                    "outbound queue full: closing as a slow consumer"
                );
                false
            }
            Err(NotSent::Closed) => false,
        }
    }

    fn unsubscribed(&self, cart: CartId) {
        self.remove_subscription(cart);
    }
}
