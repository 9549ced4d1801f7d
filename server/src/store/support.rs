//! The support desk (migration `0008_conversations.sql`): customers, one
//! conversation per customer, and its messages numbered by `seq`.
//!
//! The storage keeps the rules that must hold under concurrent writers:
//! a message takes the next `seq` of its conversation in the transaction
//! that stores it; a customer's message opens a closed conversation in that
//! same transaction; a tip is stored only while the conversation is open
//! (checked in the transaction, so that a tip never lands after the
//! conversation was closed); read marks only move forward and never past
//! the newest message. Unread counts are counted from the read marks.

use async_trait::async_trait;
use cartroom_protocol::support::{
    Conversation, ConversationId, ConversationStatus, MessageKind, SupportMessage,
};
use cartroom_protocol::{CartId, UserId};

use super::Result;

/// A customer's first conversation with a store.
#[derive(Clone, Copy, Debug)]
pub struct NewConversation<'a> {
    pub store_id: &'a str,
    pub user: UserId,
    /// The customer's name (the account's).
    pub name: &'a str,
    /// The account's e-mail; fills a customer's missing e-mail later too
    /// (a guest who signed up).
    pub email: Option<&'a str>,
    pub now_ms: i64,
}

/// A message to store as the next of its conversation.
#[derive(Clone, Copy, Debug)]
pub struct NewMessage<'a> {
    pub conversation: ConversationId,
    pub kind: MessageKind,
    /// `None` for a tip.
    pub author: Option<UserId>,
    pub author_name: &'a str,
    pub text: &'a str,
    /// The cart a tip is about.
    pub cart: Option<CartId>,
    pub now_ms: i64,
}

/// Whose read mark moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadSide {
    /// The store's staff (one mark for all of them).
    Agents,
    Customer,
}

/// A contact change: `None` keeps the field, `Some(None)` forgets it.
#[derive(Clone, Copy, Debug, Default)]
pub struct ContactChange<'a> {
    pub email: Option<Option<&'a str>>,
    pub phone: Option<Option<&'a str>>,
}

/// Customers, conversations and messages.
#[async_trait]
pub trait Support: Send + Sync {
    /// The user's conversation with the store, made open (with its
    /// customer) when there is none; true when it was made.
    async fn open_conversation(&self, new: NewConversation<'_>) -> Result<(Conversation, bool)>;

    async fn conversation(&self, id: ConversationId) -> Result<Option<Conversation>>;

    /// The user's conversation with the store, if they opened one.
    async fn conversation_of(&self, store: &str, user: UserId) -> Result<Option<Conversation>>;

    /// The store's conversations, newest first (`updated_at`, then id),
    /// with this status if one is given.
    async fn list_conversations(
        &self,
        store: &str,
        status: Option<ConversationStatus>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Conversation>>;

    /// Stores the message as the next of its conversation and returns it
    /// with the conversation after it. A customer's message opens a closed
    /// conversation; a tip changes nothing but `last_seq`, and is not
    /// stored (`None`) while the conversation is closed. `None` also when
    /// there is no such conversation.
    async fn append_message(
        &self,
        message: NewMessage<'_>,
    ) -> Result<Option<(SupportMessage, Conversation)>>;

    /// Up to `limit` messages after `after`, oldest first; without tips
    /// unless `tips`.
    async fn messages(
        &self,
        id: ConversationId,
        after: i64,
        limit: usize,
        tips: bool,
    ) -> Result<Vec<SupportMessage>>;

    /// Moves a side's read mark forward to `seq` (at most the newest
    /// message); `None` when there is no such conversation.
    async fn mark_read(
        &self,
        id: ConversationId,
        side: ReadSide,
        seq: i64,
    ) -> Result<Option<Conversation>>;

    /// Sets the status; `None` when there is no such conversation.
    async fn set_status(
        &self,
        id: ConversationId,
        status: ConversationStatus,
    ) -> Result<Option<Conversation>>;

    /// Changes the customer's e-mail or phone; `None` when there is no such
    /// conversation.
    async fn set_contact(
        &self,
        id: ConversationId,
        change: ContactChange<'_>,
    ) -> Result<Option<Conversation>>;
}
