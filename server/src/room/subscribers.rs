//! Who is in a room: each subscription with its role, stream and presence
//! status, how it joins and leaves, and presence as deltas (one user's
//! entry per message, so that a join costs each member one small frame).
//!
//! A subscription is *joining* from the moment the room takes the
//! `subscribe` until the commits queued before it are done and it has been
//! sent `subscribed` and the document. While joining, its ops are accepted
//! (a client may pipeline `subscribe` and `op`) and a membership change
//! applies to it, but broadcasts skip it: whatever they carry is already in
//! the document it will receive. An unsubscribe the connection asks for
//! takes its turn behind the work queued before it, so the connection gets
//! `subscribed` and its ops' changes and acks first.

use std::collections::HashMap;

use cartroom_protocol::{
    Capability, ConnId, Heads, MemberRole, PresenceEntry, ServerMsg, StreamKind, SyncPayload,
    UserId,
};

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
    /// A store's staff, not a member (`RoomCmd::Subscribe`).
    staff: bool,
    pub(super) status: Option<String>,
    /// What it is sent after each change.
    pub(super) stream: StreamKind,
    /// Which join of its connection this is.
    pub(super) join: JoinId,
    /// True until `subscribed` has been sent.
    joining: bool,
}

impl Entry {
    fn capabilities(&self) -> Vec<Capability> {
        policy::capabilities_of(self.role, self.staff)
    }
}

/// The subscriptions of one room, by connection.
#[derive(Default)]
pub(super) struct Subscribers {
    by_conn: HashMap<ConnId, Entry>,
    last_join: JoinId,
    /// The view as of the latest change applied, as JSON, kept while a
    /// view subscription exists: the next change's patch is computed
    /// against it (`Room::view_patch`).
    pub(super) view: Option<serde_json::Value>,
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
    pub(super) fn join(
        &mut self,
        conn: SubscriberHandle,
        role: MemberRole,
        staff: bool,
        stream: StreamKind,
    ) -> JoinId {
        self.last_join += 1;
        let entry = Entry {
            conn: conn.clone(),
            role,
            staff,
            status: None,
            stream,
            join: self.last_join,
            joining: true,
        };
        self.by_conn.insert(conn.conn_id(), entry);
        self.last_join
    }

    /// Ends the join `join` of a connection; its role and capabilities, or
    /// `None` when the subscription was ended or restarted meanwhile.
    fn activate(&mut self, conn: ConnId, join: JoinId) -> Option<(MemberRole, Vec<Capability>)> {
        let entry = self.by_conn.get_mut(&conn)?;
        if entry.join != join || !entry.joining {
            return None;
        }
        entry.joining = false;
        Some((entry.role, entry.capabilities()))
    }

    pub(super) fn remove(&mut self, conn: ConnId) -> Option<Entry> {
        let entry = self.by_conn.remove(&conn);
        if !self.has_view() {
            self.view = None;
        }
        entry
    }

    fn active(&self) -> impl Iterator<Item = &Entry> {
        self.by_conn.values().filter(|e| !e.joining)
    }

    /// Whether a subscription, joining or not, is on the view stream.
    pub(super) fn has_view(&self) -> bool {
        self.by_conn.values().any(|e| e.stream == StreamKind::View)
    }

    /// Whether an active subscription is on `stream`.
    pub(super) fn streams_to(&self, stream: StreamKind) -> bool {
        self.active().any(|e| e.stream == stream)
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
    pub(super) fn presence_of(&self, user: &Actor, role: MemberRole) -> PresenceEntry {
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
    pub(super) fn deliver_all(&mut self, frame: &Frame) -> Vec<(Actor, MemberRole)> {
        self.deliver_by_stream(|_| std::slice::from_ref(frame))
    }

    /// Sends each active subscriber the frames its stream gets, in order;
    /// returns those dropped (gone or too slow).
    pub(super) fn deliver_by_stream<'f>(
        &mut self,
        frames: impl Fn(StreamKind) -> &'f [Frame],
    ) -> Vec<(Actor, MemberRole)> {
        let mut dropped = Vec::new();
        let mut delivered = 0;
        self.by_conn.retain(|_, sub| {
            if sub.joining {
                return true;
            }
            let frames = frames(sub.stream);
            if frames.is_empty() {
                return true;
            }
            delivered += 1;
            let kept = frames.iter().all(|frame| sub.conn.deliver(frame.clone()));
            if !kept {
                dropped.push((sub.conn.actor().clone(), sub.role));
            }
            kept
        });
        metrics::counter!("cartroom_deliveries_total").increment(delivered);
        if !dropped.is_empty() && !self.has_view() {
            self.view = None;
        }
        dropped
    }

    /// Sends `frames`, in order, to every active subscriber that keeps a
    /// replica (streams `changes` and `compact`); returns those dropped. An
    /// epoch change goes this way: the view did not change.
    pub(super) fn broadcast_replicas(&mut self, frames: &[Frame]) -> Vec<(Actor, MemberRole)> {
        self.deliver_by_stream(|stream| match stream {
            StreamKind::Changes | StreamKind::Compact => frames,
            StreamKind::View => &[],
        })
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
    /// Lets a joining subscription in, now that the commits before it are
    /// done: `subscribed`, then the document. Nothing happens if it was
    /// ended or restarted meanwhile.
    pub(super) fn complete_join(&mut self, conn: SubscriberHandle, join: JoinId, welcome: Welcome) {
        let conn_id = conn.conn_id();
        let Some((role, capabilities)) = self.subscribers.activate(conn_id, join) else {
            return;
        };
        let subscribed = Frame::msg(&ServerMsg::Subscribed {
            cart_id: self.cart_id,
            role,
            capabilities,
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
        if !sub.joining {
            self.announce_presence(sub.conn.actor(), sub.role);
        }
    }

    /// Ends join `join` of a connection at its request. A later subscribe
    /// of the same connection, already taken, keeps its own join; the
    /// request is still answered.
    pub(super) fn unsubscribe_requested(&mut self, conn_id: ConnId, join: JoinId) {
        let Some(sub) = self.subscribers.get(conn_id) else {
            return;
        };
        if sub.join == join {
            return self.unsubscribe(conn_id, true);
        }
        sub.conn.deliver(Frame::msg(&ServerMsg::Unsubscribed {
            cart_id: self.cart_id,
            reason: "requested".into(),
        }));
    }

    pub(super) fn set_status(&mut self, conn_id: ConnId, status: Option<String>) {
        let Some(sub) = self.subscribers.by_conn.get_mut(&conn_id) else {
            return;
        };
        sub.status = status;
        let (actor, role, joining) = (sub.conn.actor().clone(), sub.role, sub.joining);
        if !joining {
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
        self.subscribers.view = None;
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
                    if !sub.joining {
                        sub.conn.deliver(Frame::msg(&ServerMsg::RoleChanged {
                            cart_id: self.cart_id,
                            role,
                            capabilities: sub.capabilities(),
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
    /// The binary frame with the document or the missing changes (the
    /// `view` message, on the view stream).
    pub(super) document: Frame,
}
