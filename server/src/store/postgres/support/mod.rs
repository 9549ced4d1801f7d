//! The support desk: customers, conversations and their messages. A port
//! of `sqlite/support/`. SQLite numbered messages and moved statuses in
//! `BEGIN IMMEDIATE` transactions (one writer at a time); here each write
//! locks the conversation row it changes (its first statement is the
//! `UPDATE`), so two writers on any nodes never take one `seq`, and writes
//! of customers take the customers cursor lock first.
//!
//! ## Layout
//! - this file: the `Support` trait, handing each call to its concept;
//! - [`rows`]: the queries that read a conversation or a message, and
//!   reading a conversation back inside a write;
//! - [`conversations`]: opening, finding, listing, statuses;
//! - [`messages`]: appending, paging, read marks;
//! - [`customers`]: a conversation's customer and their contact details.

mod conversations;
mod customers;
mod messages;
mod rows;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use cartroom_protocol::UserId;
use cartroom_protocol::support::{
    Conversation, ConversationId, ConversationStatus, SupportMessage,
};

use super::PgStore;
use crate::store::Result;
use crate::store::support::{ContactChange, NewConversation, NewMessage, ReadSide, Support};

#[async_trait]
impl Support for PgStore {
    async fn open_conversation(&self, new: NewConversation<'_>) -> Result<(Conversation, bool)> {
        conversations::open(&self.pool, new).await
    }

    async fn conversation(&self, id: ConversationId) -> Result<Option<Conversation>> {
        conversations::by_id(&self.pool, id).await
    }

    async fn conversation_of(&self, store: &str, user: UserId) -> Result<Option<Conversation>> {
        conversations::of_user(&self.pool, store, user).await
    }

    async fn list_conversations(
        &self,
        store: &str,
        status: Option<ConversationStatus>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Conversation>> {
        conversations::list(&self.pool, store, status, offset, limit).await
    }

    async fn append_message(
        &self,
        message: NewMessage<'_>,
    ) -> Result<Option<(SupportMessage, Conversation)>> {
        messages::append(&self.pool, message).await
    }

    async fn messages(
        &self,
        id: ConversationId,
        after: i64,
        limit: usize,
        tips: bool,
    ) -> Result<Vec<SupportMessage>> {
        messages::page(&self.pool, id, after, limit, tips).await
    }

    async fn mark_read(
        &self,
        id: ConversationId,
        side: ReadSide,
        seq: i64,
    ) -> Result<Option<Conversation>> {
        messages::mark_read(&self.pool, id, side, seq).await
    }

    async fn set_status(
        &self,
        id: ConversationId,
        status: ConversationStatus,
    ) -> Result<Option<Conversation>> {
        conversations::set_status(&self.pool, id, status).await
    }

    async fn set_contact(
        &self,
        id: ConversationId,
        change: ContactChange<'_>,
    ) -> Result<Option<Conversation>> {
        customers::set_contact(&self.pool, id, change).await
    }
}
