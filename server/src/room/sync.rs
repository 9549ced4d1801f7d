//! What a new subscriber or a read gets of the document: computed when
//! asked, delivered once the commits queued before it are done.

use automerge::{ChangeHash, ReadDoc};
use bytes::Bytes;
use cartroom_protocol::http::CartView;
use cartroom_protocol::{FrameKind, MemberRole, SyncPayload};
use tokio::sync::oneshot;

use super::command::BytesKind;
use super::engine::Room;
use super::frame::Frame;
use super::pending::Completed;
use super::subscriber::SubscriberHandle;
use super::subscribers::Welcome;
use crate::cart::{self, view::heads_of};
use crate::refusal::Refusal;

impl Room {
    /// Starts a subscription: it joins at once (its ops are accepted from
    /// now on) and is sent `subscribed` and the document (or the changes
    /// after its heads, when the room knows them all) once the commits
    /// queued before it are done. `role` is what the caller read from the
    /// store; a membership change the room has seen since wins over it.
    pub(super) fn subscribe(
        &mut self,
        conn: SubscriberHandle,
        role: MemberRole,
        heads: Option<Vec<ChangeHash>>,
    ) {
        let role = match self.member_roles.get(&conn.actor().user_id) {
            Some(Some(changed)) => *changed,
            Some(None) => {
                conn.deliver(Frame::refusal(
                    &Refusal::cart_not_found(),
                    Some(self.cart_id),
                    None,
                ));
                conn.unsubscribed(self.cart_id);
                return;
            }
            None => role,
        };
        let known = heads.filter(|heads| {
            heads
                .iter()
                .all(|h| self.doc.get_change_by_hash(h).is_some())
        });
        let (payload, bytes) = match known {
            Some(heads) => (
                SyncPayload::Changes,
                Bytes::from(self.doc.save_after(&heads)),
            ),
            None => (SyncPayload::Document, self.saved_doc()),
        };
        let kind = match payload {
            SyncPayload::Document => FrameKind::Document,
            SyncPayload::Changes => FrameKind::Changes,
        };
        let welcome = Welcome {
            payload,
            heads: heads_of(&self.doc),
            document: Frame::automerge(kind, self.cart_id, &bytes),
        };
        let join = self.subscribers.join(conn.clone(), role);
        self.pending.push_ready(Completed::Subscribe {
            conn,
            join,
            welcome,
        });
    }

    /// Answers a read of the JSON view after the commits queued before it.
    pub(super) fn view(&mut self, reply: oneshot::Sender<CartView>) {
        match cart::view(&self.doc) {
            Ok(view) => self.reply_in_turn(move || {
                let _ = reply.send(view);
            }),
            // Dropping `reply` tells the caller the cart is unavailable.
            Err(e) => tracing::error!(error = %e, "cart view failed"),
        }
    }

    /// Answers a read of Automerge bytes after the commits queued before it.
    pub(super) fn bytes(&mut self, kind: BytesKind, reply: oneshot::Sender<Bytes>) {
        let bytes = match kind {
            BytesKind::Document => self.saved_doc(),
            BytesKind::Changes => Bytes::from(self.doc.save_after(&[])),
        };
        self.reply_in_turn(move || {
            let _ = reply.send(bytes);
        });
    }

    /// Runs `send` after the commits queued before it, so that a read never
    /// shows what is not durable yet.
    pub(super) fn reply_in_turn(&mut self, send: impl FnOnce() + Send + 'static) {
        self.pending.push_ready(Completed::Reply(Box::new(send)));
    }

    /// `doc.save()`, kept until the next change.
    pub(super) fn saved_doc(&mut self) -> Bytes {
        self.saved
            .get_or_insert_with(|| Bytes::from(self.doc.save()))
            .clone()
    }
}
