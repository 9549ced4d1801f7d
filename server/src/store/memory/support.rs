//! The support desk in memory: the same rules as the database (one
//! conversation per store and user, `seq` taken under the lock, no tip
//! while closed, read marks only forward).

use async_trait::async_trait;
use cartroom_protocol::UserId;
use cartroom_protocol::support::{
    Conversation, ConversationId, ConversationStatus, Customer, CustomerId, MessageKind,
    SupportMessage,
};

use super::{MemoryStore, State};
use crate::store::Result;
use crate::store::support::{ContactChange, NewConversation, NewMessage, ReadSide, Support};

/// Every conversation, in the order they were opened.
#[derive(Default)]
pub(super) struct SupportState {
    conversations: Vec<ConversationRow>,
}

struct ConversationRow {
    id: ConversationId,
    customer: Customer,
    status: ConversationStatus,
    agents_read_seq: i64,
    customer_read_seq: i64,
    created_at: i64,
    updated_at: i64,
    /// In `seq` order, 1, 2, 3, ...
    messages: Vec<SupportMessage>,
}

impl ConversationRow {
    fn last_seq(&self) -> i64 {
        self.messages.len() as i64
    }

    fn unread(&self, kind: MessageKind, mark: i64) -> i64 {
        self.messages
            .iter()
            .filter(|m| m.kind == kind && m.seq > mark)
            .count() as i64
    }

    fn view(&self) -> Conversation {
        Conversation {
            id: self.id,
            store_id: self.customer.store_id.clone(),
            customer: self.customer.clone(),
            status: self.status,
            last_seq: self.last_seq(),
            last_message: self
                .messages
                .iter()
                .rev()
                .find(|m| m.kind != MessageKind::Tip)
                .cloned(),
            unread_for_agents: self.unread(MessageKind::Customer, self.agents_read_seq),
            unread_for_customer: self.unread(MessageKind::Agent, self.customer_read_seq),
            agents_read_seq: self.agents_read_seq,
            customer_read_seq: self.customer_read_seq,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

impl State {
    fn conversation_mut(&mut self, id: ConversationId) -> Option<&mut ConversationRow> {
        self.support.conversations.iter_mut().find(|c| c.id == id)
    }
}

#[async_trait]
impl Support for MemoryStore {
    async fn open_conversation(&self, new: NewConversation<'_>) -> Result<(Conversation, bool)> {
        let mut state = self.state();
        let rows = &mut state.support.conversations;
        if let Some(row) = rows
            .iter_mut()
            .find(|c| c.customer.store_id == new.store_id && c.customer.user_id == new.user)
        {
            if row.customer.email.is_none() {
                row.customer.email = new.email.map(str::to_owned);
            }
            return Ok((row.view(), false));
        }
        let row = ConversationRow {
            id: ConversationId::new_random(),
            customer: Customer {
                id: CustomerId::new_random(),
                store_id: new.store_id.to_owned(),
                user_id: new.user,
                name: new.name.to_owned(),
                email: new.email.map(str::to_owned),
                phone: None,
                created_at: new.now_ms,
            },
            status: ConversationStatus::Open,
            agents_read_seq: 0,
            customer_read_seq: 0,
            created_at: new.now_ms,
            updated_at: new.now_ms,
            messages: Vec::new(),
        };
        let view = row.view();
        rows.push(row);
        Ok((view, true))
    }

    async fn conversation(&self, id: ConversationId) -> Result<Option<Conversation>> {
        Ok(self.state().conversation_mut(id).map(|c| c.view()))
    }

    async fn conversation_of(&self, store: &str, user: UserId) -> Result<Option<Conversation>> {
        Ok(self
            .state()
            .support
            .conversations
            .iter()
            .find(|c| c.customer.store_id == store && c.customer.user_id == user)
            .map(ConversationRow::view))
    }

    async fn list_conversations(
        &self,
        store: &str,
        status: Option<ConversationStatus>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Conversation>> {
        let state = self.state();
        let mut found: Vec<&ConversationRow> = state
            .support
            .conversations
            .iter()
            .filter(|c| c.customer.store_id == store && status.is_none_or(|s| c.status == s))
            .collect();
        found.sort_by(|a, b| {
            (b.updated_at, b.id.to_string()).cmp(&(a.updated_at, a.id.to_string()))
        });
        Ok(found
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(ConversationRow::view)
            .collect())
    }

    async fn append_message(
        &self,
        message: NewMessage<'_>,
    ) -> Result<Option<(SupportMessage, Conversation)>> {
        let mut state = self.state();
        let Some(row) = state.conversation_mut(message.conversation) else {
            return Ok(None);
        };
        if message.kind == MessageKind::Tip && row.status == ConversationStatus::Closed {
            return Ok(None);
        }
        let stored = SupportMessage {
            seq: row.last_seq() + 1,
            kind: message.kind,
            author_id: message.author,
            author_name: message.author_name.to_owned(),
            text: message.text.to_owned(),
            cart_id: message.cart,
            at: message.now_ms,
        };
        row.messages.push(stored.clone());
        if message.kind != MessageKind::Tip {
            row.updated_at = message.now_ms;
        }
        if message.kind == MessageKind::Customer {
            row.status = ConversationStatus::Open;
        }
        Ok(Some((stored, row.view())))
    }

    async fn messages(
        &self,
        id: ConversationId,
        after: i64,
        limit: usize,
        tips: bool,
    ) -> Result<Vec<SupportMessage>> {
        let mut state = self.state();
        let Some(row) = state.conversation_mut(id) else {
            return Ok(Vec::new());
        };
        Ok(row
            .messages
            .iter()
            .filter(|m| m.seq > after && (tips || m.kind != MessageKind::Tip))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn mark_read(
        &self,
        id: ConversationId,
        side: ReadSide,
        seq: i64,
    ) -> Result<Option<Conversation>> {
        let mut state = self.state();
        let Some(row) = state.conversation_mut(id) else {
            return Ok(None);
        };
        let upto = seq.min(row.last_seq());
        let mark = match side {
            ReadSide::Agents => &mut row.agents_read_seq,
            ReadSide::Customer => &mut row.customer_read_seq,
        };
        *mark = (*mark).max(upto);
        Ok(Some(row.view()))
    }

    async fn set_status(
        &self,
        id: ConversationId,
        status: ConversationStatus,
    ) -> Result<Option<Conversation>> {
        let mut state = self.state();
        Ok(state.conversation_mut(id).map(|row| {
            row.status = status;
            row.view()
        }))
    }

    async fn set_contact(
        &self,
        id: ConversationId,
        change: ContactChange<'_>,
    ) -> Result<Option<Conversation>> {
        let mut state = self.state();
        Ok(state.conversation_mut(id).map(|row| {
            if let Some(email) = change.email {
                row.customer.email = email.map(str::to_owned);
            }
            if let Some(phone) = change.phone {
                row.customer.phone = phone.map(str::to_owned);
            }
            row.view()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(user: UserId, store_id: &str, now_ms: i64) -> NewConversation<'_> {
        NewConversation {
            store_id,
            user,
            name: "Sam",
            email: None,
            now_ms,
        }
    }

    fn say(conversation: ConversationId, kind: MessageKind, now_ms: i64) -> NewMessage<'static> {
        NewMessage {
            conversation,
            kind,
            author: None,
            author_name: "",
            text: "hello",
            cart: None,
            now_ms,
        }
    }

    #[tokio::test]
    async fn messages_are_numbered_and_tips_never_count_or_reopen() {
        let store = MemoryStore::new();
        let sam = UserId::new_random();
        let (c, created) = store.open_conversation(new(sam, "s1", 1)).await.unwrap();
        assert!(created);
        let (again, created) = store.open_conversation(new(sam, "s1", 2)).await.unwrap();
        assert_eq!((again.id, created), (c.id, false));
        let (elsewhere, created) = store.open_conversation(new(sam, "s2", 2)).await.unwrap();
        assert!(created && elsewhere.id != c.id);

        store
            .append_message(say(c.id, MessageKind::Customer, 3))
            .await
            .unwrap();
        let (tip, after) = store
            .append_message(say(c.id, MessageKind::Tip, 4))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(tip.seq, 2);
        assert_eq!((after.unread_for_agents, after.updated_at), (1, 3));
        store
            .set_status(c.id, ConversationStatus::Closed)
            .await
            .unwrap();
        assert!(
            store
                .append_message(say(c.id, MessageKind::Tip, 5))
                .await
                .unwrap()
                .is_none()
        );
        let (_, after) = store
            .append_message(say(c.id, MessageKind::Agent, 6))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(after.status, ConversationStatus::Closed);
        assert_eq!(after.unread_for_customer, 1);
        let (_, after) = store
            .append_message(say(c.id, MessageKind::Customer, 7))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(after.status, ConversationStatus::Open);
        assert_eq!(after.last_seq, 4);
        let customer_view = store.messages(c.id, 0, 10, false).await.unwrap();
        assert_eq!(
            customer_view.iter().map(|m| m.seq).collect::<Vec<_>>(),
            [1, 3, 4]
        );
        let read = store
            .mark_read(c.id, ReadSide::Agents, 99)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((read.agents_read_seq, read.unread_for_agents), (4, 0));
        let back = store
            .mark_read(c.id, ReadSide::Agents, 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back.agents_read_seq, 4);
    }

    #[tokio::test]
    async fn a_store_lists_only_its_own_newest_first() {
        let store = MemoryStore::new();
        let (a, b, c) = (
            UserId::new_random(),
            UserId::new_random(),
            UserId::new_random(),
        );
        let (ca, _) = store.open_conversation(new(a, "s1", 1)).await.unwrap();
        let (cb, _) = store.open_conversation(new(b, "s1", 2)).await.unwrap();
        store.open_conversation(new(c, "s2", 3)).await.unwrap();
        store
            .append_message(say(ca.id, MessageKind::Customer, 9))
            .await
            .unwrap();
        let listed = store.list_conversations("s1", None, 0, 10).await.unwrap();
        assert_eq!(
            listed.iter().map(|c| c.id).collect::<Vec<_>>(),
            [ca.id, cb.id]
        );
        let open = store
            .list_conversations("s1", Some(ConversationStatus::Closed), 0, 10)
            .await
            .unwrap();
        assert!(open.is_empty());
        assert_eq!(
            store.list_conversations("s1", None, 1, 1).await.unwrap()[0].id,
            cb.id
        );
    }
}
