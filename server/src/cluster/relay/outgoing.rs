//! What a relay sends its cart's owner for each room command, and what
//! the command's sender waits for meanwhile.

use std::collections::HashMap;

use cartroom_protocol::ErrorCode;
use tokio::time::Instant;

use super::{Follower, Relay, Waiting};
use crate::cluster::wire::Forward;
use crate::refusal::Refusal;
use crate::room::{Frame, OpOrigin, RoomCmd};

impl Relay<'_> {
    /// The command for the owner, and what waits for its answer; `None`
    /// when it is answered here (a connection that is not subscribed).
    pub(super) fn outgoing(&mut self, cmd: RoomCmd) -> Option<(Forward, Waiting)> {
        let outgoing = match cmd {
            RoomCmd::Subscribe {
                conn,
                role,
                staff,
                heads,
                stream,
            } => {
                let forward = Forward::Subscribe {
                    conn: conn.conn_id().0,
                    actor: conn.actor().clone(),
                    role,
                    staff,
                    heads: heads.map(|h| h.iter().map(|h| h.to_string()).collect()),
                    stream,
                };
                self.leaving.remove(&conn.conn_id());
                let in_flight = HashMap::new();
                self.subscribers.insert(
                    conn.conn_id(),
                    Follower {
                        conn,
                        role,
                        staff,
                        stream,
                        in_flight,
                        heads: None,
                    },
                );
                (forward, Waiting::Taken)
            }
            RoomCmd::Unsubscribe { conn_id, notify } => {
                if let Some(sub) = self.subscribers.remove(&conn_id)
                    && notify
                {
                    self.leaving.insert(conn_id, (Instant::now(), sub.conn));
                }
                (
                    Forward::Unsubscribe {
                        conn: conn_id.0,
                        notify,
                    },
                    Waiting::Taken,
                )
            }
            RoomCmd::Op { origin, op_id, op } => match origin {
                OpOrigin::Subscriber(conn) => {
                    let Some(sub) = self.subscribers.get_mut(&conn.conn_id()) else {
                        let refusal =
                            Refusal::new(ErrorCode::NotSubscribed, "subscribe to this cart first");
                        conn.deliver(Frame::refusal(&refusal, Some(self.cart), Some(op_id)));
                        return None;
                    };
                    sub.in_flight.insert(op_id.clone(), Instant::now());
                    let conn = conn.conn_id().0;
                    (
                        Forward::SubscriberOp {
                            conn,
                            op_id,
                            op: *op,
                        },
                        Waiting::Taken,
                    )
                }
                OpOrigin::Direct { actor, role, reply } => (
                    Forward::DirectOp {
                        actor,
                        role,
                        op_id,
                        op: *op,
                    },
                    Waiting::Op(reply),
                ),
            },
            RoomCmd::Presence { conn_id, status } => {
                if !self.subscribers.contains_key(&conn_id) {
                    return None;
                }
                (
                    Forward::Presence {
                        conn: conn_id.0,
                        status,
                    },
                    Waiting::Taken,
                )
            }
            RoomCmd::Chat { conn, text } => {
                if !self.subscribers.contains_key(&conn.conn_id()) {
                    let refusal =
                        Refusal::new(ErrorCode::NotSubscribed, "subscribe to this cart first");
                    conn.deliver(Frame::refusal(&refusal, Some(self.cart), None));
                    return None;
                }
                let conn = conn.conn_id().0;
                (Forward::Chat { conn, text }, Waiting::Taken)
            }
            RoomCmd::MemberChanged {
                user_id,
                member_name,
                role,
                added,
                by,
            } => (
                Forward::MemberChanged {
                    user_id,
                    member_name,
                    role,
                    added,
                    by,
                },
                Waiting::Taken,
            ),
            RoomCmd::Note {
                by,
                kind,
                text,
                member,
            } => (
                Forward::Note {
                    by,
                    kind,
                    text,
                    member,
                },
                Waiting::Taken,
            ),
            RoomCmd::ServerOp { op, reply } => (Forward::ServerOp { op }, Waiting::Op(reply)),
            RoomCmd::Hold { reply } => (Forward::Hold, Waiting::Hold(reply)),
            RoomCmd::Release => (Forward::Release, Waiting::Taken),
            RoomCmd::View { reply } => (Forward::View, Waiting::View(reply)),
            RoomCmd::Bytes { kind, reply } => (Forward::Bytes { kind }, Waiting::Bytes(reply)),
            RoomCmd::Delete { reply } => (Forward::Delete, Waiting::Deleted(reply)),
            RoomCmd::Barrier { reply } => (Forward::Barrier, Waiting::Passed(reply)),
        };
        Some(outgoing)
    }
}
