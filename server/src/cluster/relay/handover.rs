//! When the owner goes: whatever waited on it hears `unavailable`, and
//! the relay's subscribers move to the cart's next owner (or to a room
//! here) with the heads their replicas have.

use automerge::ChangeHash;
use cartroom_protocol::{MemberRole, ServerMsg, StreamKind};

use super::{Relay, RelayEnd};
use crate::refusal::Refusal;
use crate::room::{Frame, RoomCmd, SubscriberHandle};

/// A subscriber moving from one owner to the next.
pub struct Carried {
    pub conn: SubscriberHandle,
    pub role: MemberRole,
    pub staff: bool,
    pub stream: StreamKind,
    /// Heads its replica has, if it keeps one.
    pub heads: Option<Vec<ChangeHash>>,
}

impl Carried {
    /// Its subscription on the cart's next owner (or here).
    pub fn subscribe(self) -> RoomCmd {
        RoomCmd::Subscribe {
            conn: self.conn,
            role: self.role,
            staff: self.staff,
            heads: self.heads,
            stream: self.stream,
        }
    }
}

impl Relay<'_> {
    /// The owner is gone: what waited hears `unavailable` (ops with their
    /// op id, to be retried), and the subscribers move on.
    pub(super) fn owner_gone(&mut self) -> RelayEnd {
        for (_, (_, waiting)) in std::mem::take(&mut self.waiting) {
            self.answer_unavailable(waiting);
        }
        for (_, (_, conn)) in std::mem::take(&mut self.leaving) {
            conn.deliver(Frame::msg(&ServerMsg::Unsubscribed {
                cart_id: self.cart,
                reason: "requested".into(),
            }));
        }
        let carried = std::mem::take(&mut self.subscribers)
            .into_values()
            .map(|sub| {
                for op_id in sub.in_flight.into_keys() {
                    let frame =
                        Frame::refusal(&Refusal::unavailable(), Some(self.cart), Some(op_id));
                    sub.conn.deliver(frame);
                }
                let heads = sub
                    .heads
                    .and_then(|heads| heads.iter().map(|h| h.parse::<ChangeHash>().ok()).collect());
                Carried {
                    conn: sub.conn,
                    role: sub.role,
                    staff: sub.staff,
                    stream: sub.stream,
                    heads,
                }
            })
            .collect();
        RelayEnd::OwnerGone(carried)
    }
}
