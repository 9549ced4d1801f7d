//! The live WebSocket connections of this node, by id, with the session
//! each was opened with: signing out ends that session's sockets at once.
//! Each user holds a bounded number of them, and each can be told that its
//! user's list of carts changed (`carts_changed`). With many nodes, both
//! reach the user's sockets on every node ([`LiveEvent`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use cartroom_protocol::{CartId, ConnId, ServerMsg, UserId};
use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::room::{Frame, SubscriberHandle};

/// One live connection, as the rest of the node sees it.
#[derive(Debug)]
struct Live {
    token_hash: String,
    /// Cancelled when its session ends; the connection closes with 4001.
    ended: CancellationToken,
    user: UserId,
    /// The connection, for messages about the user rather than about a cart.
    conn: SubscriberHandle,
}

/// Every live connection of the node, bounded.
#[derive(Debug)]
pub struct LiveConnections {
    by_id: DashMap<ConnId, Live>,
    /// Connections open per user; a user without any has no entry.
    per_user: DashMap<UserId, u32>,
    next_id: AtomicU64,
    max: usize,
    /// Carts each user is subscribed to across all their connections (the
    /// per-principal subscription limit); a user without any has no entry.
    subscriptions: DashMap<UserId, usize>,
    /// Many nodes: what is told to the other nodes' connections.
    peers: OnceLock<mpsc::Sender<LiveEvent>>,
}

/// What one node's live connections tell the others' (many nodes): a
/// session ended, or a message for some users' connections.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LiveEvent {
    SessionEnded { token_hash: String },
    ToUsers { users: Vec<UserId>, text: String },
}

/// One of a user's places among the live connections; dropping it frees
/// it. Taken at the handshake, before the upgrade, and held until the
/// socket closes.
#[derive(Debug)]
pub struct UserSlot {
    live: Arc<LiveConnections>,
    user: UserId,
}

impl Drop for UserSlot {
    fn drop(&mut self) {
        if let Entry::Occupied(mut entry) = self.live.per_user.entry(self.user) {
            *entry.get_mut() -= 1;
            if *entry.get() == 0 {
                entry.remove();
            }
        }
    }
}

/// A place among the live connections; leaving it (drop) frees it.
#[derive(Debug)]
pub struct Registration {
    live: Arc<LiveConnections>,
    pub id: ConnId,
    /// Cancelled when the connection's session ends.
    pub ended: CancellationToken,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.live.by_id.remove(&self.id);
        metrics::gauge!("cartroom_connections").decrement(1.0);
    }
}

impl LiveConnections {
    pub fn new(max: usize) -> Self {
        Self {
            by_id: DashMap::new(),
            per_user: DashMap::new(),
            next_id: AtomicU64::new(1),
            max,
            subscriptions: DashMap::new(),
            peers: OnceLock::new(),
        }
    }

    /// Whether another connection would go over the bound.
    pub fn is_full(&self) -> bool {
        self.by_id.len() >= self.max
    }

    /// A place for one more connection of `user`, unless it holds `max`
    /// already. (The entry's lock makes the check and the count one step.)
    pub fn take_user_slot(self: &Arc<Self>, user: UserId, max: u32) -> Option<UserSlot> {
        let mut open = self.per_user.entry(user).or_insert(0);
        if *open >= max {
            return None;
        }
        *open += 1;
        drop(open);
        Some(UserSlot {
            live: self.clone(),
            user,
        })
    }

    /// A new connection's id, unique on this node.
    pub fn next_conn_id(&self) -> ConnId {
        ConnId(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Registers `conn`, of `user`, opened with the session `token_hash`.
    pub fn register(
        self: &Arc<Self>,
        token_hash: &str,
        user: UserId,
        conn: SubscriberHandle,
    ) -> Registration {
        let id = conn.conn_id();
        let ended = CancellationToken::new();
        self.by_id.insert(
            id,
            Live {
                token_hash: token_hash.to_owned(),
                ended: ended.clone(),
                user,
                conn,
            },
        );
        metrics::gauge!("cartroom_connections").increment(1.0);
        Registration {
            live: self.clone(),
            id,
            ended,
        }
    }

    /// Tells the other nodes' connections too, from now on, through
    /// `peers` (bounded: what does not fit is dropped and logged).
    pub fn share_with(&self, peers: mpsc::Sender<LiveEvent>) {
        let _ = self.peers.set(peers);
    }

    /// An event from another node, for the connections here.
    pub fn apply(&self, event: LiveEvent) {
        match event {
            LiveEvent::SessionEnded { token_hash } => self.end_session_here(&token_hash),
            LiveEvent::ToUsers { users, text } => {
                let users: std::collections::HashSet<UserId> = users.into_iter().collect();
                self.send_frame_where(|u| users.contains(u), Frame::Text(text.into()));
            }
        }
    }

    fn tell_peers(&self, event: impl FnOnce() -> LiveEvent) {
        if let Some(peers) = self.peers.get()
            && peers.try_send(event()).is_err()
        {
            tracing::warn!("the other nodes' connections were not told: queue full");
        }
    }

    /// Ends every connection of a session, on every node.
    pub fn end_session(&self, token_hash: &str) {
        self.end_session_here(token_hash);
        self.tell_peers(|| LiveEvent::SessionEnded {
            token_hash: token_hash.to_owned(),
        });
    }

    fn end_session_here(&self, token_hash: &str) {
        for live in self.by_id.iter() {
            if live.token_hash == token_hash {
                live.ended.cancel();
            }
        }
    }

    /// Counts one more subscription of `user`, unless they hold `max`
    /// across their connections already. (The entry's lock makes the check
    /// and the count one step.)
    pub fn take_subscription(&self, user: UserId, max: usize) -> bool {
        let mut held = self.subscriptions.entry(user).or_insert(0);
        if *held >= max {
            return false;
        }
        *held += 1;
        true
    }

    /// Gives back `n` of the user's subscriptions.
    pub fn release_subscriptions(&self, user: UserId, n: usize) {
        if let Entry::Occupied(mut entry) = self.subscriptions.entry(user) {
            *entry.get_mut() = entry.get().saturating_sub(n);
            if *entry.get() == 0 {
                entry.remove();
            }
        }
    }

    /// Sends a message about the user (not about one cart they watch) to
    /// every live connection of theirs, on every node.
    pub fn send_to_user(&self, user: UserId, msg: &ServerMsg) {
        self.send_where(&[user], |u| *u == user, msg);
    }

    /// Whether `user` has a live connection on this node (or is opening one).
    pub fn is_online(&self, user: UserId) -> bool {
        self.per_user.contains_key(&user)
    }

    /// Sends one message to every live connection of any of `users`, on
    /// every node.
    pub fn send_to_users(&self, users: &std::collections::HashSet<UserId>, msg: &ServerMsg) {
        if !users.is_empty() {
            let named: Vec<UserId> = users.iter().copied().collect();
            self.send_where(&named, |u| users.contains(u), msg);
        }
    }

    /// Sends `msg`, encoded once, to every live connection of `users`
    /// (whom `to` picks here), and tells the other nodes.
    fn send_where(&self, users: &[UserId], to: impl Fn(&UserId) -> bool, msg: &ServerMsg) {
        let frame = Frame::msg(msg);
        if let Frame::Text(text) = &frame {
            self.tell_peers(|| LiveEvent::ToUsers {
                users: users.to_vec(),
                text: String::from_utf8_lossy(text).into_owned(),
            });
        }
        self.send_frame_where(to, frame);
    }

    /// A connection whose queue is full misses the frame: it is closed as
    /// too slow (and a page loads again when it reconnects).
    fn send_frame_where(&self, to: impl Fn(&UserId) -> bool, frame: Frame) {
        for live in self.by_id.iter() {
            if to(&live.user) {
                live.conn.deliver(frame.clone());
            }
        }
    }

    /// Tells every live connection of `user` that their list of carts
    /// changed (they joined `cart`, left it, or their role in it changed),
    /// so an open "My carts" follows without asking.
    pub fn carts_changed(&self, user: UserId, cart: CartId) {
        self.send_to_user(user, &ServerMsg::CartsChanged { cart_id: cart });
    }
}
