//! The connection side of the harness: a recording subscriber the room
//! delivers to, and the test's handle that reads what it was given.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use automerge::{Automerge, Change};
use cartroom_protocol::{
    ActivityEvent, BinaryFrame, CartId, ConnId, ErrorCode, FrameKind, Heads, MemberRole, OpId,
    PresenceEntry, ServerMsg, SyncPayload,
};
use tokio::sync::mpsc;

use super::harness::PATIENCE;
use crate::cart::Actor;
use crate::room::{Frame, Subscriber, SubscriberHandle};
/// What a subscriber was given, decoded.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Received {
    Msg(ServerMsg),
    Automerge { kind: FrameKind, bytes: Vec<u8> },
}

/// A change frame's change: the op that made it, and its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct SeenChange {
    pub(super) op_id: String,
    pub(super) hash: String,
}

impl SeenChange {
    pub(super) fn parse(bytes: &[u8]) -> Self {
        let change = Change::from_bytes(bytes.to_vec()).expect("one Automerge change");
        let message: serde_json::Value =
            serde_json::from_str(change.message().expect("room changes carry a message"))
                .expect("the change message is JSON");
        Self {
            op_id: message["op_id"].as_str().expect("an op id").to_owned(),
            hash: change.hash().to_string(),
        }
    }

    /// The heads of a document whose last change this is.
    pub(super) fn as_heads(&self) -> Heads {
        Heads(vec![self.hash.clone()])
    }
}

/// The welcome of a subscription.
#[derive(Debug)]
pub(super) struct Joined {
    pub(super) role: MemberRole,
    pub(super) heads: Heads,
    pub(super) presence: Vec<PresenceEntry>,
    pub(super) doc: Automerge,
}

/// The answer to one op, as its sender sees it.
#[derive(Debug, PartialEq)]
pub(super) enum OpAnswer {
    Ack { duplicate: bool },
    Refused(ErrorCode),
}

/// The room's side of a test connection: records what it is given, or
/// refuses it as a connection with a full queue does.
#[derive(Debug)]
struct Recorder {
    conn_id: ConnId,
    actor: Actor,
    refusing: AtomicBool,
    frames: mpsc::UnboundedSender<Received>,
}

impl Subscriber for Recorder {
    fn conn_id(&self) -> ConnId {
        self.conn_id
    }

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn deliver(&self, frame: Frame) -> bool {
        if self.refusing.load(Ordering::SeqCst) {
            return false;
        }
        self.frames.send(decode(&frame)).is_ok()
    }

    /// The tests read the `unsubscribed` and `error` frames instead.
    fn unsubscribed(&self, _cart: CartId) {}
}

fn decode(frame: &Frame) -> Received {
    match frame {
        Frame::Text(text) => Received::Msg(serde_json::from_slice(text).expect("a server message")),
        Frame::Binary(bytes) => {
            let frame = BinaryFrame::decode(bytes).expect("a binary frame");
            Received::Automerge {
                kind: frame.kind,
                bytes: frame.payload.to_vec(),
            }
        }
    }
}

/// A test connection: hands the room a [`Recorder`] and reads what it got.
pub(super) struct Client {
    recorder: Arc<Recorder>,
    frames: mpsc::UnboundedReceiver<Received>,
}

impl Client {
    pub(super) fn new(conn_id: ConnId, actor: Actor) -> Self {
        let (tx, frames) = mpsc::unbounded_channel();
        let recorder = Arc::new(Recorder {
            conn_id,
            actor,
            refusing: AtomicBool::new(false),
            frames: tx,
        });
        Self { recorder, frames }
    }

    pub(super) fn handle(&self) -> SubscriberHandle {
        self.recorder.clone()
    }

    pub(super) fn actor(&self) -> &Actor {
        &self.recorder.actor
    }

    pub(super) fn conn_id(&self) -> ConnId {
        self.recorder.conn_id
    }

    /// While true, deliveries fail as they do when a connection cannot keep up.
    pub(super) fn refuse_deliveries(&self, refuse: bool) {
        self.recorder.refusing.store(refuse, Ordering::SeqCst);
    }

    pub(super) async fn next(&mut self) -> Received {
        let name = &self.recorder.actor.name;
        match tokio::time::timeout(PATIENCE, self.frames.recv()).await {
            Ok(Some(received)) => received,
            Ok(None) => unreachable!("the recorder keeps the sender"),
            Err(_) => panic!("{name} waited for a frame that never came"),
        }
    }

    pub(super) async fn next_msg(&mut self) -> ServerMsg {
        match self.next().await {
            Received::Msg(msg) => msg,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// The next frame, which must carry one change.
    pub(super) async fn expect_change(&mut self) -> SeenChange {
        match self.next().await {
            Received::Automerge {
                kind: FrameKind::Changes,
                bytes,
            } => SeenChange::parse(&bytes),
            other => panic!("expected a change frame, got {other:?}"),
        }
    }

    /// The next frame, which must ack `op_id`; returns its heads and whether
    /// it answers a retry.
    pub(super) async fn expect_ack(&mut self, op_id: &str) -> (Heads, bool) {
        match self.next_msg().await {
            ServerMsg::Ack {
                op_id: acked,
                heads,
                duplicate,
                ..
            } if acked.0 == op_id => (heads, duplicate),
            other => panic!("expected the ack of {op_id}, got {other:?}"),
        }
    }

    pub(super) async fn expect_activity(&mut self) -> ActivityEvent {
        match self.next_msg().await {
            ServerMsg::Activity { event, .. } => event,
            other => panic!("expected activity, got {other:?}"),
        }
    }

    pub(super) async fn expect_error(&mut self) -> (ErrorCode, Option<OpId>) {
        match self.next_msg().await {
            ServerMsg::Error { code, op_id, .. } => (code, op_id),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    pub(super) async fn expect_unsubscribed(&mut self) -> String {
        match self.next_msg().await {
            ServerMsg::Unsubscribed { reason, .. } => reason,
            other => panic!("expected unsubscribed, got {other:?}"),
        }
    }

    /// The next frame, which must announce `who` with this many connections.
    pub(super) async fn expect_presence(&mut self, who: &Actor, connections: u32) {
        let announced = self.expect_presence_of(who).await;
        assert_eq!(announced, connections, "{}'s connections", who.name);
    }

    /// The next frame, which must announce `who`; returns their connections.
    pub(super) async fn expect_presence_of(&mut self, who: &Actor) -> u32 {
        match self.next_msg().await {
            ServerMsg::Presence { members, .. }
                if members.len() == 1 && members[0].user_id == who.user_id =>
            {
                members[0].connections
            }
            other => panic!("expected the presence of {}, got {other:?}", who.name),
        }
    }

    /// The next frames, which must be `subscribed` and the whole document.
    pub(super) async fn expect_subscribed(&mut self) -> Joined {
        let (role, heads, presence) = match self.next_msg().await {
            ServerMsg::Subscribed {
                payload: SyncPayload::Document,
                role,
                heads,
                presence,
                ..
            } => (role, heads, presence),
            other => panic!("expected subscribed with a document, got {other:?}"),
        };
        let doc = match self.next().await {
            Received::Automerge {
                kind: FrameKind::Document,
                bytes,
            } => Automerge::load(&bytes).expect("a saved document"),
            other => panic!("expected the document, got {other:?}"),
        };
        Joined {
            role,
            heads,
            presence,
            doc,
        }
    }

    /// Every op id whose change reached this client, from what it has not read yet.
    pub(super) fn drain_changes(&mut self) -> Vec<String> {
        self.drain()
            .into_iter()
            .filter_map(|frame| match frame {
                Received::Automerge {
                    kind: FrameKind::Changes,
                    bytes,
                } => Some(SeenChange::parse(&bytes).op_id),
                _ => None,
            })
            .collect()
    }

    /// Reads past other frames to the ack or refusal of `op_id`.
    pub(super) async fn answer_to(&mut self, op_id: &str) -> OpAnswer {
        loop {
            match self.next().await {
                Received::Msg(ServerMsg::Ack {
                    op_id: acked,
                    duplicate,
                    ..
                }) if acked.0 == op_id => return OpAnswer::Ack { duplicate },
                Received::Msg(ServerMsg::Error {
                    code,
                    op_id: Some(refused),
                    ..
                }) if refused.0 == op_id => return OpAnswer::Refused(code),
                _ => {}
            }
        }
    }

    /// Everything delivered so far and not read yet.
    pub(super) fn drain(&mut self) -> Vec<Received> {
        std::iter::from_fn(|| self.frames.try_recv().ok()).collect()
    }

    /// Fails if anything was delivered and not read yet.
    pub(super) fn assert_silent(&mut self) {
        let unread = self.drain();
        assert!(
            unread.is_empty(),
            "{} was sent {unread:?}",
            self.recorder.actor.name
        );
    }
}
