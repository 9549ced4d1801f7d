//! What a room sends to all its subscribers: a change as each stream
//! wants it, other broadcasts, and presence. A subscriber dropped on the
//! way (gone, or too slow) is announced as gone.
//!
//! Each subscription has a stream ([`StreamKind`]): after a change,
//! `changes` gets a kind-2 frame and then an `activity` message, `compact`
//! one kind-3 frame holding both, and `view` a `view_patch`. Frames are
//! built once per change, and only for the streams someone is on.

use bytes::Bytes;
use cartroom_protocol::frame::Record;
use cartroom_protocol::{
    ActivityEvent, BinaryFrame, FrameKind, Heads, MemberRole, ServerMsg, StreamKind,
};

use super::engine::Room;
use super::frame::Frame;
use crate::cart::Actor;

/// The frames of one committed change, one per stream that needs it.
#[derive(Default)]
struct ChangeFrames {
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
}
