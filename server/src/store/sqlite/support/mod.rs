//! The support desk: customers, conversations and their messages. Every
//! write that numbers a message or moves a status runs in one
//! `BEGIN IMMEDIATE` transaction, so two writers never take one `seq`.
//!
//! ## Layout
//! - this file: the `Support` trait, handing each call to its concept;
//! - [`rows`]: the queries that read a conversation or a message, and
//!   reading a conversation back inside a write;
//! - [`conversations`]: opening, finding, listing, statuses;
//! - [`messages`]: appending, paging, read marks;
//! - [`customers`]: a conversation's customer and their contact details;
//! - [`absent`]: who is known to have no conversation, kept in memory.

mod absent;
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

pub(super) use absent::NoConversation;

use super::SqliteStore;
use crate::store::Result;
use crate::store::support::{ContactChange, NewConversation, NewMessage, ReadSide, Support};

#[async_trait]
impl Support for SqliteStore {
    async fn open_conversation(&self, new: NewConversation<'_>) -> Result<(Conversation, bool)> {
        // On a task of its own: a caller that goes away while the commit is
        // under way must not leave the user remembered without one.
        let (pool, absent) = (self.pool.clone(), self.no_conversation.clone());
        let (store, name) = (new.store_id.to_owned(), new.name.to_owned());
        let (user, email, now_ms) = (new.user, new.email.map(str::to_owned), new.now_ms);
        let opening = tokio::spawn(async move {
            let new = NewConversation {
                store_id: &store,
                user,
                name: &name,
                email: email.as_deref(),
                now_ms,
            };
            let (conversation, created) = conversations::open(&pool, new).await?;
            if created {
                absent.opened(&store, user);
            }
            Ok((conversation, created))
        });
        // A panic in it goes on in the caller, as it would have inline.
        opening
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    async fn conversation(&self, id: ConversationId) -> Result<Option<Conversation>> {
        conversations::by_id(&self.pool, id).await
    }

    async fn conversation_of(&self, store: &str, user: UserId) -> Result<Option<Conversation>> {
        if self.no_conversation.knows_none(store, user) {
            return Ok(None);
        }
        let ticket = self.no_conversation.ticket();
        let found = conversations::of_user(&self.pool, store, user).await?;
        if found.is_none() {
            self.no_conversation.remember(store, user, ticket);
        }
        Ok(found)
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
