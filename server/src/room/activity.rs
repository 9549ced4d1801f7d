//! A cart's activity feed as the room keeps it: the recent events sent with
//! `subscribed`, and the notes that are not changes (chat, membership),
//! saved before they are broadcast.

use std::collections::VecDeque;

use cartroom_protocol::{ActivityEvent, ErrorCode, MemberRole, ServerMsg, UserId};

use super::engine::Room;
use super::frame::Frame;
use super::pending::Completed;
use super::subscriber::SubscriberHandle;
use crate::cart::{Actor, membership_text};
use crate::refusal::Refusal;

/// The numbering of a cart's events and the most recent of them.
pub(super) struct ActivityLog {
    /// The `seq` of the last event made (maybe not yet saved).
    last_seq: i64,
    recent: VecDeque<ActivityEvent>,
    capacity: usize,
}

impl ActivityLog {
    /// Starts from the events loaded from the store, oldest first.
    pub(super) fn new(capacity: usize, loaded: Vec<ActivityEvent>) -> Self {
        Self {
            last_seq: loaded.last().map_or(0, |e| e.seq),
            recent: loaded.into(),
            capacity,
        }
    }

    /// Numbers a new event.
    pub(super) fn next_seq(&mut self) -> i64 {
        self.last_seq += 1;
        self.last_seq
    }

    /// Keeps a saved event among the recent ones.
    pub(super) fn push(&mut self, event: ActivityEvent) {
        self.recent.push_back(event);
        while self.recent.len() > self.capacity {
            self.recent.pop_front();
        }
    }

    /// The recent events, oldest first.
    pub(super) fn recent(&self) -> Vec<ActivityEvent> {
        self.recent.iter().cloned().collect()
    }
}

impl Room {
    pub(super) async fn chat(&mut self, conn: SubscriberHandle, text: String) {
        if !self.subscribers.contains(conn.conn_id()) {
            let refusal = Refusal::new(ErrorCode::NotSubscribed, "subscribe to this cart first");
            conn.deliver(Frame::refusal(&refusal, Some(self.cart_id), None));
            return;
        }
        let actor = conn.actor().clone();
        let line = format!("{}: {}", actor.name, text);
        self.record_note(&actor, "chat", line, Some((conn, text)))
            .await;
    }

    /// Records a membership change made through the HTTP API.
    pub(super) async fn note_membership(
        &mut self,
        by: &Actor,
        user_id: UserId,
        member_name: &str,
        role: Option<MemberRole>,
        added: bool,
    ) {
        let (kind, text) =
            membership_text(&by.name, by.user_id == user_id, member_name, role, added);
        self.record_note(by, kind, text, None).await;
    }

    /// Saves an activity event that is not a change and broadcasts it once
    /// durable: a chat (its author, told if saving fails, and its words) as
    /// a `chat` message with the event's `seq`, anything else as `activity`.
    pub(super) async fn record_note(
        &mut self,
        actor: &Actor,
        kind: &str,
        text: String,
        chat: Option<(SubscriberHandle, String)>,
    ) {
        let event = ActivityEvent {
            seq: self.activity.next_seq(),
            at: self.env.clock.now_ms(),
            user_id: actor.user_id,
            user_name: actor.name.clone(),
            kind: kind.to_owned(),
            text,
            subtotal: self.mirror.subtotal(),
            currency: self.mirror.currency().to_owned(),
        };
        let (author, frame) = match chat {
            Some((conn, words)) => {
                let chat = ServerMsg::Chat {
                    cart_id: self.cart_id,
                    seq: event.seq,
                    user_id: event.user_id,
                    user_name: event.user_name.clone(),
                    text: words,
                    at: event.at,
                };
                (Some(conn), Frame::msg(&chat))
            }
            None => (
                None,
                Frame::msg(&ServerMsg::Activity {
                    cart_id: self.cart_id,
                    event: event.clone(),
                }),
            ),
        };
        let commit = self
            .env
            .changes
            .append_activity(self.cart_id, self.term(), event.clone())
            .await;
        self.pending.push_after(async move {
            Completed::Note {
                result: commit.await,
                author,
                event,
                frame,
            }
        });
    }
}
