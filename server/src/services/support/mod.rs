//! The support desk's conversations: a shopper opens one conversation per
//! store (making them that store's customer), the store's staff answer it,
//! and the shopper's cart edits appear in it as tips for the staff.
//!
//! Every message is stored (its `seq` taken in the store's transaction)
//! before anyone hears of it, and a conversation's messages are written and
//! delivered under that conversation's lock, so that every connection gets
//! them in `seq` order. Delivery is `support_message` to the customer's
//! connections (not tips) and to every connection of the store's staff on
//! this node, then `support_conversation` when the status or the unread
//! counts changed.
//!
//! # Layout
//! - [`conversations`]: the use cases behind `/api/support/conversations`.
//! - [`tips`]: the room tap that turns committed cart edits into tips.

pub mod conversations;
pub mod tips;

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use cartroom_protocol::support::{Conversation, ConversationId, MessageKind, SupportMessage};
use cartroom_protocol::{ServerMsg, UserId};
use tokio::sync::Mutex;

use super::error::Result;
use super::live::LiveConnections;
use crate::catalog::Catalogs;
use crate::clock::Clock;
use crate::store::support::NewMessage;
use crate::store::{StoreStaff, Support};

pub use conversations::Caller;
pub use tips::{TipTap, TipWorker, tip_queue};

/// Locks that order the writes and deliveries of one conversation; a
/// conversation always takes the same one of them.
const STRIPES: usize = 64;

/// What the support service uses.
pub struct SupportDeps {
    pub support: Arc<dyn Support>,
    pub staff: Arc<dyn StoreStaff>,
    /// The stores (their time zones and currencies).
    pub catalogs: Catalogs,
    pub live: Arc<LiveConnections>,
    pub clock: Arc<dyn Clock>,
}

/// Conversations, their messages and tips.
pub struct SupportService {
    desk: Arc<Desk>,
}

/// What the use cases and the tip worker share.
struct Desk {
    deps: SupportDeps,
    /// Held while a message is stored and delivered (never across anything
    /// but that), so that deliveries follow `seq`.
    stripes: Vec<Mutex<()>>,
}

impl SupportService {
    pub fn new(deps: SupportDeps) -> Self {
        Self {
            desk: Arc::new(Desk {
                deps,
                stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            }),
        }
    }
}

impl Desk {
    fn stripe(&self, id: ConversationId) -> &Mutex<()> {
        let mut hasher = DefaultHasher::new();
        id.hash(&mut hasher);
        &self.stripes[hasher.finish() as usize % STRIPES]
    }

    /// Stores a message and delivers it, in `seq` order with the others of
    /// its conversation. `None` when it was not stored (no such
    /// conversation, or a tip while it is closed).
    async fn post(
        &self,
        message: NewMessage<'_>,
    ) -> Result<Option<(SupportMessage, Conversation)>> {
        let _turn = self.stripe(message.conversation).lock().await;
        let Some((stored, after)) = self.deps.support.append_message(message).await? else {
            return Ok(None);
        };
        let mut everyone = self.staff_of(&after.store_id).await?;
        // Tips are for the staff only; anything else changes an unread
        // count (and a customer's message may open the conversation).
        let tip = stored.kind == MessageKind::Tip;
        if !tip {
            everyone.insert(after.customer.user_id);
        }
        self.deps.live.send_to_users(
            &everyone,
            &ServerMsg::SupportMessage {
                conversation_id: after.id,
                message: Box::new(stored.clone()),
            },
        );
        if !tip {
            self.announce_to(&after, &everyone);
        }
        Ok(Some((stored, after)))
    }

    /// Tells the customer and the store's staff how the conversation stands.
    async fn announce(&self, conversation: &Conversation) -> Result<()> {
        let mut everyone = self.staff_of(&conversation.store_id).await?;
        everyone.insert(conversation.customer.user_id);
        self.announce_to(conversation, &everyone);
        Ok(())
    }

    fn announce_to(&self, conversation: &Conversation, users: &HashSet<UserId>) {
        self.deps.live.send_to_users(
            users,
            &ServerMsg::SupportConversation {
                conversation: Box::new(conversation.clone()),
            },
        );
    }

    /// The store's staff, by user id.
    async fn staff_of(&self, store: &str) -> Result<HashSet<UserId>> {
        Ok(self
            .deps
            .staff
            .list_staff(store)
            .await?
            .into_iter()
            .map(|s| s.user_id)
            .collect())
    }
}
