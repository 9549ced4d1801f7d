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
//!
//! Each subscription has a stream ([`StreamKind`]): after a change,
//! `changes` gets a kind-2 frame and then an `activity` message, `compact`
//! one kind-3 frame holding both, and `view` a `view_patch`. Frames are
//! built once per change, and only for the streams someone is on.

use std::collections::HashMap;

use bytes::Bytes;
use cartroom_protocol::frame::Record;
use cartroom_protocol::{
    ActivityEvent, BinaryFrame, ConnId, FrameKind, Heads, MemberRole, PresenceEntry, ServerMsg,
    StreamKind, SyncPayload, UserId,
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
    pub(super) status: Option<String>,
    /// What it is sent after each change.
    pub(super) stream: StreamKind,
    /// `Some` until `subscribed` has been sent.
    joining: Option<JoinId>,
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

/// The frames of one committed change, one per stream that needs it.
#[derive(Default)]
pub(super) struct ChangeFrames {
    /// Kind 2, for `changes`; its `activity` message follows the ack.
    changes: Option<Frame>,
    /// Kind 3, for `compact`.
    compact: Option<Frame>,
    /// `view_patch`, for `view`.
    view: Option<Frame>,
}

impl ChangeFrames {
    fn for_stream(&self, stream: StreamKind) -> Option<&Frame> {
        match stream {
            StreamKind::Changes => self.changes.as_ref(),
            StreamKind::Compact => self.compact.as_ref(),
            StreamKind::View => self.view.as_ref(),
        }
    }
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
        stream: StreamKind,
    ) -> JoinId {
        self.last_join += 1;
        let entry = Entry {
            conn: conn.clone(),
            role,
            status: None,
            stream,
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
        let entry = self.by_conn.remove(&conn);
        if !self.has_view() {
            self.view = None;
        }
        entry
    }

    fn active(&self) -> impl Iterator<Item = &Entry> {
        self.by_conn.values().filter(|e| e.joining.is_none())
    }

    /// Whether a subscription, joining or not, is on the view stream.
    pub(super) fn has_view(&self) -> bool {
        self.by_conn.values().any(|e| e.stream == StreamKind::View)
    }

    /// Whether an active subscription is on `stream`.
    fn streams_to(&self, stream: StreamKind) -> bool {
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
        self.deliver_by_stream(|_| std::slice::from_ref(frame))
    }

    /// Sends each active subscriber the frames its stream gets, in order;
    /// returns those dropped (gone or too slow).
    fn deliver_by_stream<'f>(
        &mut self,
        frames: impl Fn(StreamKind) -> &'f [Frame],
    ) -> Vec<(Actor, MemberRole)> {
        let mut dropped = Vec::new();
        let mut delivered = 0;
        self.by_conn.retain(|_, sub| {
            if sub.joining.is_some() {
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
    /// Sends to every active subscriber, and announces who was dropped.
    pub(super) fn broadcast(&mut self, frame: Frame) {
        for (user, role) in self.subscribers.deliver_all(&frame) {
            self.announce_presence(&user, role);
        }
    }

    /// Sends `frames`, in order, to the subscribers that keep a replica
    /// (not the view stream), and announces who was dropped: an `epoch`
    /// message and the new document.
    pub(super) fn broadcast_replicas(&mut self, frames: &[Frame]) {
        for (user, role) in self.subscribers.broadcast_replicas(frames) {
            self.announce_presence(&user, role);
        }
    }

    /// Sends a committed change to every active subscriber as its stream
    /// wants it (before the ack: whoever hears of the ack has the change).
    /// `patch` is the view stream's, computed when the change was applied.
    pub(super) fn broadcast_change(
        &mut self,
        change: &[u8],
        activity: &ActivityEvent,
        heads: &Heads,
        patch: Option<json_patch::Patch>,
    ) {
        let subs = &self.subscribers;
        let mut frames = ChangeFrames::default();
        if subs.streams_to(StreamKind::Changes) {
            frames.changes = Some(Frame::automerge(FrameKind::Changes, self.cart_id, change));
        }
        if subs.streams_to(StreamKind::Compact) {
            let activity = serde_json::to_vec(activity).expect("activity events serialize");
            // The header, then the one record, written in place.
            let mut bytes = BinaryFrame::encode(FrameKind::Change, self.cart_id, &[]);
            bytes.reserve(8 + change.len() + activity.len());
            Record::encode_into(&mut bytes, change, &activity);
            frames.compact = Some(Frame::Binary(Bytes::from(bytes)));
        }
        if let Some(patch) = patch.filter(|_| subs.streams_to(StreamKind::View)) {
            frames.view = Some(Frame::msg(&ServerMsg::ViewPatch {
                cart_id: self.cart_id,
                heads: heads.clone(),
                patch,
                activity: activity.clone(),
            }));
        }
        let dropped = self.subscribers.deliver_by_stream(|stream| {
            frames
                .for_stream(stream)
                .map(std::slice::from_ref)
                .unwrap_or_default()
        });
        for (user, role) in dropped {
            self.announce_presence(&user, role);
        }
    }

    /// The `activity` message of a committed change, after its ack, to the
    /// `changes` stream (the others had the event with the change).
    pub(super) fn broadcast_change_activity(&mut self, activity: &ActivityEvent) {
        if !self.subscribers.streams_to(StreamKind::Changes) {
            return;
        }
        let frame = Frame::msg(&ServerMsg::Activity {
            cart_id: self.cart_id,
            event: activity.clone(),
        });
        let dropped = self.subscribers.deliver_by_stream(|stream| match stream {
            StreamKind::Changes => std::slice::from_ref(&frame),
            StreamKind::Compact | StreamKind::View => &[],
        });
        for (user, role) in dropped {
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
    /// The binary frame with the document or the missing changes (the
    /// `view` message, on the view stream).
    pub(super) document: Frame,
}
