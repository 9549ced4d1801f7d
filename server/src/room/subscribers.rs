//! Who is in a room: each subscription with its role and presence status,
//! broadcasts, and presence announced as deltas (one user's entry per
//! message, so that a join costs each member one small frame).
//!
//! A subscription is *joining* from the moment the room takes the
//! `subscribe` until the commits queued before it are done and it has been
//! sent `subscribed` and the document. While joining, its ops are accepted
//! (a client may pipeline `subscribe` and `op`), an unsubscribe or a
//! membership change applies to it, but broadcasts skip it: whatever they
//! carry is already in the document it will receive.

use std::collections::HashMap;

use cartroom_protocol::{ConnId, Heads, MemberRole, PresenceEntry, ServerMsg, SyncPayload, UserId};

use super::engine::Room;
use super::frame::Frame;
use super::subscriber::SubscriberHandle;
use crate::cart::Actor;
use crate::policy;

/// Tells one join of a connection from a later one (a resubscribe).
pub(super) type JoinId = u64;

/// One subscription of a room.
pub(super) struct Entry {
    pub(super) conn: SubscriberHandle,
    pub(super) role: MemberRole,
    pub(super) status: Option<String>,
    /// `Some` until `subscribed` has been sent.
    joining: Option<JoinId>,
}

/// The subscriptions of one room, by connection.
#[derive(Default)]
pub(super) struct Subscribers {
    by_conn: HashMap<ConnId, Entry>,
    last_join: JoinId,
}

impl Subscribers {
    pub(super) fn is_empty(&self) -> bool {
        self.by_conn.is_empty()
    }

    pub(super) fn contains(&self, conn: ConnId) -> bool {
        self.by_conn.contains_key(&conn)
    }

    /// The subscription of a connection, joining or not.
    pub(super) fn get(&self, conn: ConnId) -> Option<&Entry> {
        self.by_conn.get(&conn)
    }

    /// Starts (or restarts) a subscription; it joins until activated.
    pub(super) fn join(&mut self, conn: SubscriberHandle, role: MemberRole) -> JoinId {
        self.last_join += 1;
        let entry = Entry {
            conn: conn.clone(),
            role,
            status: None,
            joining: Some(self.last_join),
        };
        self.by_conn.insert(conn.conn_id(), entry);
        self.last_join
    }

    /// Ends the join `join` of a connection; its role, or `None` when the
    /// subscription was ended or restarted meanwhile.
    fn activate(&mut self, conn: ConnId, join: JoinId) -> Option<MemberRole> {
        let entry = self.by_conn.get_mut(&conn)?;
        if entry.joining != Some(join) {
            return None;
        }
        entry.joining = None;
        Some(entry.role)
    }

    pub(super) fn remove(&mut self, conn: ConnId) -> Option<Entry> {
        self.by_conn.remove(&conn)
    }

    fn active(&self) -> impl Iterator<Item = &Entry> {
        self.by_conn.values().filter(|e| e.joining.is_none())
    }

    /// Everyone here, one entry per user, sorted by name.
    pub(super) fn presence(&self) -> Vec<PresenceEntry> {
        let mut by_user: HashMap<UserId, PresenceEntry> = HashMap::new();
        for sub in self.active() {
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
            .active()
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

    /// Sends to every active subscriber; returns those dropped (gone or too slow).
    fn deliver_all(&mut self, frame: &Frame) -> Vec<(Actor, MemberRole)> {
        let mut dropped = Vec::new();
        let mut delivered = 0;
        self.by_conn.retain(|_, sub| {
            if sub.joining.is_some() {
                return true;
            }
            delivered += 1;
            let kept = sub.conn.deliver(frame.clone());
            if !kept {
                dropped.push((sub.conn.actor().clone(), sub.role));
            }
            kept
        });
        metrics::counter!("cartroom_deliveries_total").increment(delivered);
        dropped
    }

    /// The subscriptions of one user, joining or not.
    fn of_user(&self, user: UserId) -> Vec<ConnId> {
        self.by_conn
            .iter()
            .filter(|(_, s)| s.conn.actor().user_id == user)
            .map(|(id, _)| *id)
            .collect()
    }
}

impl Room {
    /// Sends to every active subscriber, and announces who was dropped.
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

    /// Lets a joining subscription in, now that the commits before it are
    /// done: `subscribed`, then the document. Nothing happens if it was
    /// ended or restarted meanwhile.
    pub(super) fn complete_join(&mut self, conn: SubscriberHandle, join: JoinId, welcome: Welcome) {
        let conn_id = conn.conn_id();
        let Some(role) = self.subscribers.activate(conn_id, join) else {
            return;
        };
        let subscribed = Frame::msg(&ServerMsg::Subscribed {
            cart_id: self.cart_id,
            role,
            capabilities: policy::capabilities(role),
            payload: welcome.payload,
            heads: welcome.heads,
            presence: self.subscribers.presence(),
            activity: self.activity.recent(),
        });
        if conn.deliver(subscribed) && conn.deliver(welcome.document) {
            self.announce_presence(conn.actor(), role);
        } else {
            self.subscribers.remove(conn_id);
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
        if sub.joining.is_none() {
            self.announce_presence(sub.conn.actor(), sub.role);
        }
    }

    pub(super) fn set_status(&mut self, conn_id: ConnId, status: Option<String>) {
        let Some(sub) = self.subscribers.by_conn.get_mut(&conn_id) else {
            return;
        };
        sub.status = status;
        let (actor, role, joining) = (sub.conn.actor().clone(), sub.role, sub.joining);
        if joining.is_none() {
            self.announce_presence(&actor, role);
        }
    }

    /// Ends every subscription, joining or not, with `unsubscribed` and the
    /// given reason.
    pub(super) fn unsubscribe_all(&mut self, reason: &str) {
        let frame = Frame::msg(&ServerMsg::Unsubscribed {
            cart_id: self.cart_id,
            reason: reason.into(),
        });
        for (_, sub) in self.subscribers.by_conn.drain() {
            sub.conn.deliver(frame.clone());
            sub.conn.unsubscribed(self.cart_id);
        }
    }

    /// A member's role changed (`None`: removed): their subscriptions, live
    /// or joining, follow at once.
    pub(super) fn member_changed(&mut self, user_id: UserId, role: Option<MemberRole>) {
        let affected = self.subscribers.of_user(user_id);
        let Some(first) = affected.first().and_then(|id| self.subscribers.get(*id)) else {
            return;
        };
        let (actor, old_role) = (first.conn.actor().clone(), first.role);
        for conn_id in affected {
            match role {
                Some(role) => {
                    let Some(sub) = self.subscribers.by_conn.get_mut(&conn_id) else {
                        continue;
                    };
                    sub.role = role;
                    // A joining subscription learns its role from `subscribed`.
                    if sub.joining.is_none() {
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
                        sub.conn.unsubscribed(self.cart_id);
                    }
                }
            }
        }
        self.announce_presence(&actor, role.unwrap_or(old_role));
    }
}

/// What a joining subscription is sent once it is let in.
pub(super) struct Welcome {
    pub(super) payload: SyncPayload,
    pub(super) heads: Heads,
    /// The binary frame with the document or the missing changes.
    pub(super) document: Frame,
}
