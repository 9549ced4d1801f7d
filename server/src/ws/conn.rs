//! One connection as rooms see it: a bounded outbound queue that rooms
//! fill without waiting.

use cartroom_protocol::ConnId;
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
}
