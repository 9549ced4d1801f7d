//! Who is in a room: each subscriber with its role and presence status,
//! broadcasts, and presence announced as deltas (one user's entry per
//! message, so that a join costs each member one small frame).

use std::collections::HashMap;

use cartroom_protocol::{ConnId, MemberRole, PresenceEntry, ServerMsg, UserId};

use super::engine::Room;
use super::frame::Frame;
use super::subscriber::SubscriberHandle;
use crate::cart::Actor;
use crate::policy;

/// One subscription of a room.
pub(super) struct Entry {
    pub(super) conn: SubscriberHandle,
    pub(super) role: MemberRole,
    pub(super) status: Option<String>,
}

/// The subscriptions of one room, by connection.
#[derive(Default)]
pub(super) struct Subscribers {
    by_conn: HashMap<ConnId, Entry>,
}

impl Subscribers {
    pub(super) fn is_empty(&self) -> bool {
        self.by_conn.is_empty()
    }

    pub(super) fn contains(&self, conn: ConnId) -> bool {
        self.by_conn.contains_key(&conn)
    }

    pub(super) fn get(&self, conn: ConnId) -> Option<&Entry> {
        self.by_conn.get(&conn)
    }

    pub(super) fn insert(&mut self, conn: SubscriberHandle, role: MemberRole) {
        let entry = Entry {
            conn: conn.clone(),
            role,
            status: None,
        };
        self.by_conn.insert(conn.conn_id(), entry);
    }

    pub(super) fn remove(&mut self, conn: ConnId) -> Option<Entry> {
        self.by_conn.remove(&conn)
    }

    /// Everyone here, one entry per user, sorted by name.
    pub(super) fn presence(&self) -> Vec<PresenceEntry> {
        let mut by_user: HashMap<UserId, PresenceEntry> = HashMap::new();
        for sub in self.by_conn.values() {
            let actor = sub.conn.actor();
            let entry = by_user
                .entry(actor.user_id)
                .or_insert_with(|| PresenceEntry {
                    user_id: actor.user_id,
                    name: actor.name.clone(),
                    role: sub.role,
                    connections: 0,
                    status: None,
                });
            entry.connections += 1;
            if sub.status.is_some() {
                entry.status = sub.status.clone();
            }
        }
        let mut list: Vec<_> = by_user.into_values().collect();
        list.sort_by(|a, b| a.name.cmp(&b.name).then(a.user_id.cmp(&b.user_id)));
        list
    }

    /// One user's presence as it is now; `connections: 0` once gone.
    fn presence_of(&self, user: &Actor, role: MemberRole) -> PresenceEntry {
        let mut entry = PresenceEntry {
            user_id: user.user_id,
            name: user.name.clone(),
            role,
            connections: 0,
            status: None,
        };
        for sub in self
            .by_conn
            .values()
            .filter(|s| s.conn.actor().user_id == user.user_id)
        {
            entry.connections += 1;
            entry.role = sub.role;
            if sub.status.is_some() {
                entry.status = sub.status.clone();
            }
        }
        entry
    }

    /// Sends to every subscriber; returns those dropped (gone or too slow).
    fn deliver_all(&mut self, frame: &Frame) -> Vec<(Actor, MemberRole)> {
        let mut dropped = Vec::new();
        metrics::counter!("cartroom_deliveries_total").increment(self.by_conn.len() as u64);
        self.by_conn.retain(|_, sub| {
            let delivered = sub.conn.deliver(frame.clone());
            if !delivered {
                dropped.push((sub.conn.actor().clone(), sub.role));
            }
            delivered
        });
        dropped
    }

    /// The connections of one user.
    fn of_user(&self, user: UserId) -> Vec<ConnId> {
        self.by_conn
            .iter()
            .filter(|(_, s)| s.conn.actor().user_id == user)
            .map(|(id, _)| *id)
            .collect()
    }
}

impl Room {
    /// Sends to every subscriber, and announces who was dropped.
    pub(super) fn broadcast(&mut self, frame: Frame) {
        for (user, role) in self.subscribers.deliver_all(&frame) {
            self.announce_presence(&user, role);
        }
    }

    /// Broadcasts one user's presence.
    pub(super) fn announce_presence(&mut self, user: &Actor, role: MemberRole) {
        let mut queue = vec![(user.clone(), role)];
        while let Some((user, role)) = queue.pop() {
            let frame = Frame::msg(&ServerMsg::Presence {
                cart_id: self.cart_id,
                members: vec![self.subscribers.presence_of(&user, role)],
            });
            queue.extend(self.subscribers.deliver_all(&frame));
        }
    }

    pub(super) fn unsubscribe(&mut self, conn_id: ConnId, notify: bool) {
        let Some(sub) = self.subscribers.remove(conn_id) else {
            return;
        };
        if notify {
            sub.conn.deliver(Frame::msg(&ServerMsg::Unsubscribed {
                cart_id: self.cart_id,
                reason: "requested".into(),
            }));
        }
        self.announce_presence(sub.conn.actor(), sub.role);
    }

    pub(super) fn set_status(&mut self, conn_id: ConnId, status: Option<String>) {
        let Some(sub) = self.subscribers.by_conn.get_mut(&conn_id) else {
            return;
        };
        sub.status = status;
        let (actor, role) = (sub.conn.actor().clone(), sub.role);
        self.announce_presence(&actor, role);
    }

    /// Ends every subscription with `unsubscribed` and the given reason.
    pub(super) fn unsubscribe_all(&mut self, reason: &str) {
        let frame = Frame::msg(&ServerMsg::Unsubscribed {
            cart_id: self.cart_id,
            reason: reason.into(),
        });
        for (_, sub) in self.subscribers.by_conn.drain() {
            sub.conn.deliver(frame.clone());
        }
    }

    /// A member's role changed (`None`: removed): their live subscriptions
    /// follow at once.
    pub(super) fn member_changed(&mut self, user_id: UserId, role: Option<MemberRole>) {
        let affected = self.subscribers.of_user(user_id);
        let Some(first) = affected.first().and_then(|id| self.subscribers.get(*id)) else {
            return;
        };
        let (actor, old_role) = (first.conn.actor().clone(), first.role);
        for conn_id in affected {
            match role {
                Some(role) => {
                    if let Some(sub) = self.subscribers.by_conn.get_mut(&conn_id) {
                        sub.role = role;
                        sub.conn.deliver(Frame::msg(&ServerMsg::RoleChanged {
                            cart_id: self.cart_id,
                            role,
                            capabilities: policy::capabilities(role),
                        }));
                    }
                }
                None => {
                    if let Some(sub) = self.subscribers.remove(conn_id) {
                        sub.conn.deliver(Frame::msg(&ServerMsg::Unsubscribed {
                            cart_id: self.cart_id,
                            reason: "removed".into(),
                        }));
                    }
                }
            }
        }
        self.announce_presence(&actor, role.unwrap_or(old_role));
    }
}
