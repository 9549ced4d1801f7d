//! The room's view of a connection: something frames can be queued for.
//! A WebSocket connection here, or one of another node (`cluster::remote`).

use std::fmt;
use std::sync::Arc;

use cartroom_protocol::{CartId, ConnId};

use super::frame::Frame;
use crate::cart::Actor;

/// A subscriber of one or more rooms.
pub trait Subscriber: Send + Sync + fmt::Debug {
    /// Unique on this node.
    fn conn_id(&self) -> ConnId;

    /// Who is connected.
    fn actor(&self) -> &Actor;

    /// Queues a frame without waiting. False when the subscriber is gone or
    /// cannot keep up; it then closes itself, and the room forgets it.
    fn deliver(&self, frame: Frame) -> bool;

    /// The room ended this subscriber's subscription to `cart` on its own
    /// (removed, deleted, unavailable, refused), so that the subscriber can
    /// free its place.
    fn unsubscribed(&self, cart: CartId);
}

pub type SubscriberHandle = Arc<dyn Subscriber>;
