//! A connection of another node, as the cart's room on its owner sees it:
//! its frames are queued for NATS, to the relaying node's subject for the
//! cart, named by the connection's id there.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_nats::HeaderMap;
use bytes::Bytes;
use cartroom_protocol::{CartId, ConnId, ServerMsg};

use super::bus::{Bus, Outgoing};
use super::wire::{CONN_HEADER, FRAME_HEADER, Relayed, relay_subject};
use crate::cart::Actor;
use crate::room::{Frame, Subscriber};

pub struct RemoteSubscriber {
    /// Its id on this node.
    id: ConnId,
    /// The relaying node, and the connection's id there.
    pub node: String,
    pub remote: u64,
    actor: Actor,
    subject: String,
    bus: Arc<Bus>,
    /// The room ended its subscription, or it could not be reached.
    closed: AtomicBool,
}

impl std::fmt::Debug for RemoteSubscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSubscriber")
            .field("id", &self.id)
            .field("node", &self.node)
            .field("remote", &self.remote)
            .finish()
    }
}

impl RemoteSubscriber {
    pub fn new(bus: Arc<Bus>, cart: CartId, node: String, remote: u64, actor: Actor) -> Self {
        // Its node is dropped from the room when found gone, even one
        // never heard beating.
        bus.nodes.expect(&node);
        Self {
            id: bus.remote_conn_id(),
            subject: relay_subject(&node, cart),
            node,
            remote,
            actor,
            bus,
            closed: AtomicBool::new(false),
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Its node was found gone and the room forgets it; should the node
    /// still be there (its heartbeats late), its connection hears
    /// `unavailable` and subscribes again.
    pub fn end_unavailable(&self, cart: CartId) {
        let msg = ServerMsg::Unsubscribed {
            cart_id: cart,
            reason: "unavailable".into(),
        };
        if let Frame::Text(text) = Frame::msg(&msg) {
            self.send(Relayed::Text, text);
        }
        self.unsubscribed(cart);
    }

    fn send(&self, kind: Relayed, payload: Bytes) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(CONN_HEADER, self.remote.to_string().as_str());
        headers.insert(FRAME_HEADER, kind.as_str());
        self.bus.try_send(Outgoing {
            subject: self.subject.clone(),
            headers,
            payload,
        })
    }
}

impl Subscriber for RemoteSubscriber {
    fn conn_id(&self) -> ConnId {
        self.id
    }

    fn actor(&self) -> &Actor {
        &self.actor
    }

    /// False (and closed) when its node is gone, the frame is larger than
    /// NATS takes, or the queue to NATS is full: the room forgets it.
    fn deliver(&self, frame: Frame) -> bool {
        if self.is_closed() {
            return false;
        }
        let (kind, bytes) = match frame {
            Frame::Text(bytes) => (Relayed::Text, bytes),
            Frame::Binary(bytes) => (Relayed::Binary, bytes),
        };
        let sent = self.bus.nodes.may_be_alive(&self.node)
            && bytes.len() <= self.bus.max_payload
            && self.send(kind, bytes);
        if !sent {
            tracing::debug!(
                node = self.node,
                conn = self.remote,
                "relayed subscriber dropped"
            );
            metrics::counter!("cartroom_slow_consumers_total").increment(1);
            self.closed.store(true, Ordering::Relaxed);
        }
        sent
    }

    fn unsubscribed(&self, _cart: CartId) {
        self.closed.store(true, Ordering::Relaxed);
        self.send(Relayed::Unsubscribed, Bytes::new());
    }
}
