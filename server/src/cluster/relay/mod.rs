//! A relay: what runs in place of a cart's room on a node that does not
//! own the cart. It forwards every command to the owner (request/reply on
//! the owner's subject for the cart), hands the owner's frames to the
//! connections here, and remembers enough of each subscriber (its role,
//! its stream, its ops not yet answered) to move it to whoever owns the
//! cart next when the owner goes.
//!
//! - [`outgoing`]: each room command as sent to the owner.
//! - [`follow`]: what a relay reads in the owner's frames.
//! - [`handover`]: the subscribers a relay hands to the cart's next owner.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::{HeaderMap, Message, StatusCode};
use base64::Engine as _;
use bytes::Bytes;
use cartroom_protocol::{CartId, ConnId, MemberRole, OpId, StreamKind};
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

mod follow;
mod handover;
mod outgoing;

use follow::follow;
pub use handover::Carried;

use super::bus::Bus;
use super::wire::{
    CONN_HEADER, FRAME_HEADER, NODE_HEADER, Relayed, Reply, owner_subject, relay_subject,
};
use crate::refusal::Refusal;
use crate::room::{Frame, OpReply, RoomCmd, SubscriberHandle};

/// The longest a relayed op waits for its answer before `unavailable`.
const OP_WAIT: Duration = Duration::from_secs(5);

/// How the owner's `unsubscribed` message starts.
const UNSUBSCRIBED: &[u8] = br#"{"type":"unsubscribed""#;

/// How a relay ended.
pub enum RelayEnd {
    /// Nobody here is subscribed and nothing waits: nothing to relay.
    Idle,
    /// The server is stopping.
    Stopped,
    /// The owner is gone or let the cart go: these subscribers move to
    /// whoever holds the cart next.
    OwnerGone(Vec<Carried>),
}

pub(super) struct Follower {
    conn: SubscriberHandle,
    role: MemberRole,
    staff: bool,
    stream: StreamKind,
    /// Ops forwarded and not yet answered (`ack` or `error`), since when.
    in_flight: HashMap<OpId, Instant>,
    /// Heads its replica has (`follow`); none on the view stream.
    heads: Option<Vec<String>>,
}

/// What the sender of a forwarded command waits for.
pub(super) enum Waiting {
    Taken,
    Op(OpReply),
    View(oneshot::Sender<cartroom_protocol::http::CartView>),
    Hold(oneshot::Sender<Result<cartroom_protocol::http::CartView, Refusal>>),
    Bytes(oneshot::Sender<Bytes>),
    Deleted(oneshot::Sender<()>),
    Passed(oneshot::Sender<()>),
}

pub(super) struct Relay<'a> {
    bus: &'a Arc<Bus>,
    cart: CartId,
    owner: &'a str,
    subject: String,
    /// Replies come to `<inbox>.<n>`.
    inbox: String,
    next: u64,
    waiting: HashMap<u64, (Instant, Waiting)>,
    subscribers: HashMap<ConnId, Follower>,
    /// Connections that asked to unsubscribe, until the owner's
    /// `unsubscribed` reaches them (after the frames sent before it).
    leaving: HashMap<ConnId, (Instant, SubscriberHandle)>,
}

/// Relays `cart` to its owner `owner` until idle, stopped, or the owner
/// is gone. `carried` subscribers are subscribed first, with the heads
/// their replicas have.
pub async fn run(
    bus: &Arc<Bus>,
    cart: CartId,
    owner: &str,
    rx: &mut mpsc::Receiver<RoomCmd>,
    carried: Vec<Carried>,
    idle: Duration,
    shutdown: &CancellationToken,
) -> RelayEnd {
    // Listening before looking: an owner found gone in between is heard.
    let mut gone = bus.nodes.watch_gone();
    if !bus.nodes.may_be_alive(owner) {
        return RelayEnd::OwnerGone(carried);
    }
    // An owner this node never heard (it just started) is gone if it
    // never beats.
    bus.nodes.expect(owner);
    let me = bus.me();
    let subscribed = async {
        let frames = bus.client.subscribe(relay_subject(me, cart)).await?;
        let inbox = bus.client.new_inbox();
        let replies = bus.client.subscribe(format!("{inbox}.*")).await?;
        Ok::<_, async_nats::SubscribeError>((frames, inbox, replies))
    };
    let (mut frames, inbox, mut replies) = match subscribed.await {
        Ok(subscribed) => subscribed,
        Err(e) => {
            tracing::warn!(error = %e, "NATS refused the relay's subscriptions");
            return RelayEnd::OwnerGone(carried);
        }
    };
    metrics::gauge!("cartroom_relays_loaded").increment(1.0);
    let mut relay = Relay {
        bus,
        cart,
        owner,
        subject: owner_subject(owner, cart),
        inbox,
        next: 0,
        waiting: HashMap::new(),
        subscribers: HashMap::new(),
        leaving: HashMap::new(),
    };
    for sub in carried {
        relay.forward(sub.subscribe()).await;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut active = Instant::now();
    let end = loop {
        tokio::select! {
            _ = shutdown.cancelled() => {
                relay.leave().await;
                break RelayEnd::Stopped;
            }
            cmd = rx.recv() => {
                let Some(cmd) = cmd else { break RelayEnd::Stopped };
                relay.forward(cmd).await;
                active = Instant::now();
            }
            Some(frame) = frames.next() => relay.frame(frame).await,
            Some(reply) = replies.next() => {
                if !relay.reply(reply) {
                    break relay.owner_gone();
                }
            }
            Ok(node) = gone.recv() => {
                if node == owner {
                    break relay.owner_gone();
                }
            }
            _ = tick.tick() => {
                // Also when the news was missed (a lagging listener).
                if !bus.nodes.may_be_alive(owner) {
                    break relay.owner_gone();
                }
                relay.expire();
                let unused = relay.subscribers.is_empty()
                    && relay.waiting.is_empty()
                    && relay.leaving.is_empty();
                if unused && active.elapsed() >= idle {
                    break RelayEnd::Idle;
                }
            }
        }
    };
    let _ = frames.unsubscribe().await;
    let _ = replies.unsubscribe().await;
    metrics::gauge!("cartroom_relays_loaded").decrement(1.0);
    end
}

impl Relay<'_> {
    /// Sends one command to the owner; what it waits for is answered when
    /// the owner replies.
    async fn forward(&mut self, cmd: RoomCmd) {
        let Some((forward, waiting)) = self.outgoing(cmd) else {
            return;
        };
        let n = self.next;
        self.next += 1;
        let mut headers = HeaderMap::new();
        headers.insert(NODE_HEADER, self.bus.me());
        let sent = self
            .bus
            .client
            .publish_with_reply_and_headers(
                self.subject.clone(),
                format!("{}.{n}", self.inbox),
                headers,
                forward.encode(),
            )
            .await;
        match sent {
            Ok(()) => {
                metrics::counter!("cartroom_forwarded_commands_total").increment(1);
                self.waiting.insert(n, (Instant::now(), waiting));
            }
            Err(e) => {
                tracing::warn!(error = %e, "a command for the cart's owner was not sent");
                self.answer_unavailable(waiting);
            }
        }
    }

    /// The owner's answer; false when the owner does not serve the cart
    /// (no room there, or nobody listens on its subject).
    fn reply(&mut self, message: Message) -> bool {
        let n = message
            .subject
            .rsplit('.')
            .next()
            .and_then(|n| n.parse::<u64>().ok());
        let Some((_, waiting)) = n.and_then(|n| self.waiting.remove(&n)) else {
            return true;
        };
        if message.status == Some(StatusCode::NO_RESPONDERS) {
            self.answer_unavailable(waiting);
            return false;
        }
        let reply = match serde_json::from_slice::<Reply>(&message.payload) {
            Ok(reply) => reply,
            Err(e) => {
                tracing::warn!(error = %e, "an unreadable answer from the cart's owner");
                self.answer_unavailable(waiting);
                return true;
            }
        };
        match (reply, waiting) {
            (Reply::Moved, waiting) => {
                self.answer_unavailable(waiting);
                return false;
            }
            (Reply::Taken, Waiting::Taken) => {}
            (Reply::Op { result }, Waiting::Op(reply)) => {
                let _ = reply.send(result);
            }
            (Reply::View { view }, Waiting::View(reply)) => {
                let _ = reply.send(view);
            }
            (Reply::Hold { result }, Waiting::Hold(reply)) => {
                let _ = reply.send(result);
            }
            (Reply::Bytes { bytes }, Waiting::Bytes(reply)) => {
                match base64::engine::general_purpose::STANDARD.decode(bytes) {
                    Ok(bytes) => {
                        let _ = reply.send(Bytes::from(bytes));
                    }
                    Err(e) => tracing::warn!(error = %e, "unreadable bytes from the cart's owner"),
                }
            }
            (Reply::Deleted, Waiting::Deleted(reply)) | (Reply::Passed, Waiting::Passed(reply)) => {
                let _ = reply.send(());
            }
            (reply, waiting) => {
                tracing::warn!(?reply, "the cart's owner answered another question");
                self.answer_unavailable(waiting);
            }
        }
        true
    }

    /// A frame from the owner for a connection here.
    async fn frame(&mut self, message: Message) {
        let header = |name: &str| {
            message
                .headers
                .as_ref()
                .and_then(|h| h.get(name))
                .map(|v| v.as_str().to_owned())
        };
        let (Some(conn), Some(kind)) = (
            header(CONN_HEADER).and_then(|c| c.parse::<u64>().ok()),
            header(FRAME_HEADER).and_then(|k| Relayed::parse(&k)),
        ) else {
            return tracing::warn!("a relayed frame without its headers");
        };
        let conn_id = ConnId(conn);
        if let Some((_, conn)) = self.leaving.get(&conn_id) {
            let last = kind == Relayed::Text && message.payload.starts_with(UNSUBSCRIBED);
            match kind {
                Relayed::Binary => conn.deliver(Frame::Binary(message.payload)),
                Relayed::Text => conn.deliver(Frame::Text(message.payload)),
                Relayed::Unsubscribed => true,
            };
            if last {
                self.leaving.remove(&conn_id);
            }
            return;
        }
        let Some(sub) = self.subscribers.get_mut(&conn_id) else {
            return;
        };
        let frame = match kind {
            Relayed::Unsubscribed => {
                if let Some(sub) = self.subscribers.remove(&conn_id) {
                    sub.conn.unsubscribed(self.cart);
                }
                return;
            }
            Relayed::Binary => Frame::Binary(message.payload),
            Relayed::Text => {
                follow(sub, &message.payload);
                Frame::Text(message.payload)
            }
        };
        if !sub.conn.deliver(frame) {
            self.subscribers.remove(&conn_id);
            self.forward(RoomCmd::Unsubscribe {
                conn_id,
                notify: false,
            })
            .await;
        }
    }

    /// Answers `unavailable` to what waited longer than the owner may
    /// take, and to ops unanswered for `OP_WAIT` (retried with their op id,
    /// they are answered once), so that no op waits unbounded.
    fn expire(&mut self) {
        for sub in self.subscribers.values_mut() {
            sub.in_flight.retain(|op_id, since| {
                let waiting = since.elapsed() < OP_WAIT;
                if !waiting {
                    let refusal = Refusal::unavailable();
                    sub.conn.deliver(Frame::refusal(
                        &refusal,
                        Some(self.cart),
                        Some(op_id.clone()),
                    ));
                }
                waiting
            });
        }
        let timeout = self.bus.request_timeout;
        self.leaving
            .retain(|_, (since, _)| since.elapsed() < timeout);
        let late: Vec<u64> = self
            .waiting
            .iter()
            .filter(|(_, (at, _))| at.elapsed() >= timeout)
            .map(|(n, _)| *n)
            .collect();
        for n in late {
            if let Some((_, waiting)) = self.waiting.remove(&n) {
                tracing::warn!(
                    owner = self.owner,
                    "the cart's owner did not answer in time"
                );
                self.answer_unavailable(waiting);
            }
        }
    }

    /// A command that will not be answered: its sender hears `unavailable`
    /// (a dropped reply says so too).
    fn answer_unavailable(&mut self, waiting: Waiting) {
        match waiting {
            Waiting::Op(reply) => {
                let _ = reply.send(Err(Refusal::unavailable()));
            }
            Waiting::Hold(reply) => {
                let _ = reply.send(Err(Refusal::unavailable()));
            }
            Waiting::Taken
            | Waiting::View(_)
            | Waiting::Bytes(_)
            | Waiting::Deleted(_)
            | Waiting::Passed(_) => {}
        }
    }

    /// The server stops: the owner forgets this node's subscribers.
    async fn leave(&mut self) {
        let conns: Vec<ConnId> = self.subscribers.keys().copied().collect();
        for conn_id in conns {
            self.forward(RoomCmd::Unsubscribe {
                conn_id,
                notify: false,
            })
            .await;
        }
    }
}
