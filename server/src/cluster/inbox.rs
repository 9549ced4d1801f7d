//! The owner's side of forwarding: while a cart's room runs here under
//! its lease, the commands other nodes forward for it arrive on the
//! cart's subject for this node, become room commands (their connections
//! [`RemoteSubscriber`]s), and are answered once the room has taken them,
//! or, for those that wait for an answer (HTTP ops, reads), with it.

use std::collections::HashMap;
use std::sync::Arc;

use async_nats::Message;
use automerge::ChangeHash;
use base64::Engine as _;
use bytes::Bytes;
use cartroom_protocol::CartId;
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::{CancellationToken, DropGuard};

use super::bus::Bus;
use super::remote::RemoteSubscriber;
use super::wire::{Forward, NODE_HEADER, Reply, owner_subject};
use crate::cart::Actor;
use crate::refusal::Refusal;
use crate::room::{OpOrigin, RoomCmd, Subscriber as _};

/// Serves a room's forwarded commands until dropped.
pub struct Inbox {
    _stop: DropGuard,
}

/// What the sender of a command waits for.
enum Answer {
    Taken,
    Op(oneshot::Receiver<Result<cartroom_protocol::http::OpAck, Refusal>>),
    View(oneshot::Receiver<cartroom_protocol::http::CartView>),
    Hold(oneshot::Receiver<Result<cartroom_protocol::http::CartView, Refusal>>),
    Bytes(oneshot::Receiver<Bytes>),
    Deleted(oneshot::Receiver<()>),
    Passed(oneshot::Receiver<()>),
}

struct Served {
    bus: Arc<Bus>,
    cart: CartId,
    room: mpsc::WeakSender<RoomCmd>,
    /// Other nodes' subscribers of the room, by node and id there.
    subscribers: HashMap<(String, u64), Arc<RemoteSubscriber>>,
}

impl Inbox {
    /// Subscribes to the cart's subject for this node; commands go to
    /// `room` until the inbox is dropped or the room stops.
    pub async fn open(
        bus: Arc<Bus>,
        cart: CartId,
        room: mpsc::WeakSender<RoomCmd>,
    ) -> Result<Self, async_nats::SubscribeError> {
        let commands = bus.client.subscribe(owner_subject(bus.me(), cart)).await?;
        let stop = CancellationToken::new();
        let served = Served {
            bus,
            cart,
            room,
            subscribers: HashMap::new(),
        };
        tokio::spawn(served.run(commands, stop.clone()));
        Ok(Self {
            _stop: stop.drop_guard(),
        })
    }
}

impl Served {
    async fn run(mut self, mut commands: async_nats::Subscriber, stop: CancellationToken) {
        let mut gone = self.bus.nodes.watch_gone();
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                Some(message) = commands.next() => self.serve(message).await,
                Ok(node) = gone.recv() => self.forget_node(&node).await,
            }
        }
        let _ = commands.unsubscribe().await;
    }

    /// The subscribers of a node found gone leave the room (and its presence).
    async fn forget_node(&mut self, node: &str) {
        let gone: Vec<Arc<RemoteSubscriber>> = self
            .subscribers
            .extract_if(|(n, _), _| n == node)
            .map(|(_, sub)| sub)
            .collect();
        for sub in gone {
            sub.end_unavailable(self.cart);
            let cmd = RoomCmd::Unsubscribe {
                conn_id: sub.conn_id(),
                notify: false,
            };
            if !self.to_room(cmd).await {
                return;
            }
        }
    }

    async fn to_room(&self, cmd: RoomCmd) -> bool {
        match self.room.upgrade() {
            Some(room) => room.send(cmd).await.is_ok(),
            None => false,
        }
    }

    async fn serve(&mut self, message: Message) {
        let Some(reply_to) = message.reply.clone() else {
            return;
        };
        let node = message
            .headers
            .as_ref()
            .and_then(|h| h.get(NODE_HEADER))
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default();
        let answer = match serde_json::from_slice::<Forward>(&message.payload) {
            Err(e) => Some(Reply::Unreadable {
                error: e.to_string(),
            }),
            Ok(forward) => match self.command(node, forward) {
                None => Some(Reply::Taken),
                Some((cmd, answer)) => {
                    metrics::counter!("cartroom_forwarded_commands_total").increment(1);
                    if !self.to_room(cmd).await {
                        Some(Reply::Moved)
                    } else if let Answer::Taken = answer {
                        Some(Reply::Taken)
                    } else {
                        let bus = self.bus.clone();
                        let reply_to = reply_to.clone();
                        tokio::spawn(async move {
                            let reply = wait(answer).await;
                            publish(&bus, reply_to, &reply).await;
                        });
                        None
                    }
                }
            },
        };
        if let Some(reply) = answer {
            publish(&self.bus, reply_to, &reply).await;
        }
    }

    /// The subscriber of `node` named `conn` as subscribed by `actor`:
    /// the one known, unless it closed or is someone else's.
    fn subscriber(&mut self, node: &str, conn: u64, actor: Actor) -> Arc<RemoteSubscriber> {
        let key = (node.to_owned(), conn);
        match self.subscribers.get(&key) {
            Some(sub) if !sub.is_closed() && *sub.actor() == actor => sub.clone(),
            _ => {
                let sub = self.remote(node, conn, actor);
                self.subscribers.insert(key, sub.clone());
                sub
            }
        }
    }

    /// The subscriber of `node` named `conn` if known; else one the room
    /// does not know either, which it answers `not_subscribed`.
    fn known(&self, node: &str, conn: u64) -> Arc<RemoteSubscriber> {
        match self.subscribers.get(&(node.to_owned(), conn)) {
            Some(sub) => sub.clone(),
            None => self.remote(node, conn, crate::cart::server_actor()),
        }
    }

    fn remote(&self, node: &str, conn: u64, actor: Actor) -> Arc<RemoteSubscriber> {
        Arc::new(RemoteSubscriber::new(
            self.bus.clone(),
            self.cart,
            node.to_owned(),
            conn,
            actor,
        ))
    }

    /// The room command of a forwarded one, and what its sender waits
    /// for; `None` when there is nothing to tell the room.
    fn command(&mut self, node: String, forward: Forward) -> Option<(RoomCmd, Answer)> {
        let cmd = match forward {
            Forward::Subscribe {
                conn,
                actor,
                role,
                staff,
                heads,
                stream,
            } => {
                let sub = self.subscriber(&node, conn, actor);
                // All or none: a replica's heads are one state.
                let heads = heads
                    .and_then(|heads| heads.iter().map(|h| h.parse::<ChangeHash>().ok()).collect());
                RoomCmd::Subscribe {
                    conn: sub,
                    role,
                    staff,
                    heads,
                    stream,
                }
            }
            Forward::Unsubscribe { conn, notify } => {
                let sub = self.subscribers.remove(&(node, conn))?;
                RoomCmd::Unsubscribe {
                    conn_id: sub.conn_id(),
                    notify,
                }
            }
            Forward::SubscriberOp { conn, op_id, op } => {
                let sub = self.known(&node, conn);
                RoomCmd::Op {
                    origin: OpOrigin::Subscriber(sub),
                    op_id,
                    op: Box::new(op),
                }
            }
            Forward::DirectOp {
                actor,
                role,
                op_id,
                op,
            } => {
                let (reply, answer) = oneshot::channel();
                let origin = OpOrigin::Direct { actor, role, reply };
                return Some((
                    RoomCmd::Op {
                        origin,
                        op_id,
                        op: Box::new(op),
                    },
                    Answer::Op(answer),
                ));
            }
            Forward::Presence { conn, status } => {
                let sub = self.subscribers.get(&(node, conn))?;
                RoomCmd::Presence {
                    conn_id: sub.conn_id(),
                    status,
                }
            }
            Forward::Chat { conn, text } => RoomCmd::Chat {
                conn: self.known(&node, conn),
                text,
            },
            Forward::MemberChanged {
                user_id,
                member_name,
                role,
                added,
                by,
            } => RoomCmd::MemberChanged {
                user_id,
                member_name,
                role,
                added,
                by,
            },
            Forward::Note {
                by,
                kind,
                text,
                member,
            } => RoomCmd::Note {
                by,
                kind,
                text,
                member,
            },
            Forward::ServerOp { op } => {
                let (reply, answer) = oneshot::channel();
                return Some((RoomCmd::ServerOp { op, reply }, Answer::Op(answer)));
            }
            Forward::Hold => {
                let (reply, answer) = oneshot::channel();
                return Some((RoomCmd::Hold { reply }, Answer::Hold(answer)));
            }
            Forward::Release => RoomCmd::Release,
            Forward::View => {
                let (reply, answer) = oneshot::channel();
                return Some((RoomCmd::View { reply }, Answer::View(answer)));
            }
            Forward::Bytes { kind } => {
                let (reply, answer) = oneshot::channel();
                return Some((RoomCmd::Bytes { kind, reply }, Answer::Bytes(answer)));
            }
            Forward::Delete => {
                let (reply, answer) = oneshot::channel();
                return Some((RoomCmd::Delete { reply }, Answer::Deleted(answer)));
            }
            Forward::Barrier => {
                let (reply, answer) = oneshot::channel();
                return Some((RoomCmd::Barrier { reply }, Answer::Passed(answer)));
            }
        };
        Some((cmd, Answer::Taken))
    }
}

/// The room's answer; a room that stopped before answering (its reply
/// dropped) means the cart moved or is unavailable: the sender asks again.
async fn wait(answer: Answer) -> Reply {
    let moved = |_| Reply::Moved;
    match answer {
        Answer::Taken => Reply::Taken,
        Answer::Op(rx) => rx
            .await
            .map(|result| Reply::Op { result })
            .unwrap_or_else(moved),
        Answer::View(rx) => rx
            .await
            .map(|view| Reply::View { view })
            .unwrap_or_else(moved),
        Answer::Hold(rx) => rx
            .await
            .map(|result| Reply::Hold { result })
            .unwrap_or_else(moved),
        Answer::Bytes(rx) => rx
            .await
            .map(|bytes| Reply::Bytes {
                bytes: base64::engine::general_purpose::STANDARD.encode(bytes),
            })
            .unwrap_or_else(moved),
        Answer::Deleted(rx) => rx.await.map(|()| Reply::Deleted).unwrap_or_else(moved),
        Answer::Passed(rx) => rx.await.map(|()| Reply::Passed).unwrap_or_else(moved),
    }
}

async fn publish(bus: &Bus, to: async_nats::Subject, reply: &Reply) {
    if let Err(e) = bus.client.publish(to, reply.encode()).await {
        tracing::warn!(error = %e, "an answer to another node was not sent");
    }
}
