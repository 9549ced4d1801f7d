//! What a new subscriber or a read gets of the document: computed when
//! asked, delivered once the commits queued before it are done. Also the
//! view stream's patch of each change, computed when the change is applied
//! (only while someone is on that stream).

use automerge::{ChangeHash, ReadDoc};
use bytes::Bytes;
use cartroom_protocol::http::CartView;
use cartroom_protocol::{FrameKind, MemberRole, ServerMsg, StreamKind, SyncPayload};
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
    /// after its heads, when the room knows them all; or the view, on the
    /// view stream) once the commits queued before it are done. `role` is
    /// what the caller read from the store; a membership change the room
    /// has seen since wins over it.
    pub(super) fn subscribe(
        &mut self,
        conn: SubscriberHandle,
        role: MemberRole,
        staff: bool,
        heads: Option<Vec<ChangeHash>>,
        stream: StreamKind,
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
        let welcome = match stream {
            StreamKind::View => match self.view_welcome() {
                Ok(welcome) => welcome,
                Err(refusal) => {
                    tracing::error!(error = %refusal.message, "cart view failed");
                    conn.deliver(Frame::refusal(&refusal, Some(self.cart_id), None));
                    conn.unsubscribed(self.cart_id);
                    return;
                }
            },
            StreamKind::Changes | StreamKind::Compact => self.replica_welcome(heads),
        };
        let join = self.subscribers.join(conn.clone(), role, staff, stream);
        self.pending.push_ready(Completed::Subscribe {
            conn,
            join,
            welcome,
        });
    }

    /// The document, or the changes after `heads` when the room knows them all.
    fn replica_welcome(&mut self, heads: Option<Vec<ChangeHash>>) -> Welcome {
        let known = heads.filter(|heads| {
            heads
                .iter()
                .all(|h| self.doc.get_change_by_hash(h).is_some())
        });
        let (payload, kind, bytes) = match known {
            Some(heads) => (
                SyncPayload::Changes,
                FrameKind::Changes,
                Bytes::from(self.doc.save_after(&heads)),
            ),
            None => (SyncPayload::Document, FrameKind::Document, self.saved_doc()),
        };
        Welcome {
            payload,
            heads: heads_of(&self.doc),
            document: Frame::automerge(kind, self.cart_id, &bytes),
        }
    }

    /// The `view` message, and the view kept for the patches that follow.
    fn view_welcome(&mut self) -> Result<Welcome, Refusal> {
        let view = cart::view(&self.doc)?;
        // The document holds every change applied so far, and so does the
        // kept view, but for heads (an epoch change replaces them, and
        // patches replace heads whole): taking this one changes nothing
        // for earlier view subscribers.
        self.subscribers.view = Some(serde_json::to_value(&view).expect("cart views serialize"));
        let heads = view.heads.clone();
        let msg = ServerMsg::View {
            cart_id: self.cart_id,
            heads: heads.clone(),
            view: Box::new(view),
        };
        Ok(Welcome {
            payload: SyncPayload::View,
            heads,
            document: Frame::msg(&msg),
        })
    }

    /// The view stream's patch for the change just applied: from the kept
    /// view to the document's; `None` when nobody is on the view stream.
    /// `heads` is always replaced whole, first, so that a patch also
    /// applies to a view whose heads an epoch change left behind.
    pub(super) fn view_patch(&mut self) -> Option<json_patch::Patch> {
        if !self.subscribers.has_view() {
            self.subscribers.view = None;
            return None;
        }
        let new = match cart::view(&self.doc) {
            Ok(view) => serde_json::to_value(&view).expect("cart views serialize"),
            Err(refusal) => {
                // Unreachable for a document the room wrote. The kept view
                // stays as it was, so the next patch carries this change.
                tracing::error!(error = %refusal.message, "cart view failed");
                return None;
            }
        };
        let kept = self.subscribers.view.get_or_insert_with(|| new.clone());
        let heads = new["heads"].clone();
        kept["heads"] = heads.clone();
        let mut patch = json_patch::diff(kept, &new);
        patch.0.insert(
            0,
            json_patch::PatchOperation::Replace(json_patch::ReplaceOperation {
                path: json_patch::jsonptr::PointerBuf::parse("/heads").expect("a valid pointer"),
                value: heads,
            }),
        );
        *kept = new;
        Some(patch)
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
