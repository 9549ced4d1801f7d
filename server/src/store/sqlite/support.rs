//! The support desk: customers, conversations and their messages. Every
//! write that numbers a message or moves a status runs in one
//! `BEGIN IMMEDIATE` transaction, so two writers never take one `seq`.

use async_trait::async_trait;
use cartroom_protocol::support::{
    Conversation, ConversationId, ConversationStatus, Customer, CustomerId, MessageKind,
    SupportMessage,
};
use cartroom_protocol::{CartId, UserId};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::{SqliteStore, parse_id};
use crate::store::support::{ContactChange, NewConversation, NewMessage, ReadSide, Support};
use crate::store::{Result, StoreError};

/// A conversation with its customer, its newest message that is not a tip
/// and its unread counts, counted from the read marks.
const SELECT_CONVERSATION: &str = "
    SELECT c.id, c.store_id, c.status, c.last_seq, c.agents_read_seq, c.customer_read_seq,
           c.created_at, c.updated_at,
           cu.id AS customer_id, cu.user_id, cu.name, cu.email, cu.phone,
           cu.created_at AS customer_created_at,
           (SELECT COUNT(*) FROM support_messages m
             WHERE m.conversation_id = c.id AND m.seq > c.agents_read_seq
               AND m.kind = 'customer') AS unread_for_agents,
           (SELECT COUNT(*) FROM support_messages m
             WHERE m.conversation_id = c.id AND m.seq > c.customer_read_seq
               AND m.kind = 'agent') AS unread_for_customer,
           lm.seq AS lm_seq, lm.kind AS lm_kind, lm.author_id AS lm_author_id,
           lm.author_name AS lm_author_name, lm.text AS lm_text, lm.cart_id AS lm_cart_id,
           lm.at AS lm_at
    FROM conversations c
    JOIN customers cu ON cu.id = c.customer_id
    LEFT JOIN support_messages lm ON lm.conversation_id = c.id AND lm.seq = c.last_message_seq";

const SELECT_MESSAGE: &str =
    "SELECT seq, kind, author_id, author_name, text, cart_id, at FROM support_messages";

fn parse_status(s: &str) -> Result<ConversationStatus> {
    ConversationStatus::parse(s).ok_or_else(|| StoreError::Corrupt(format!("bad status {s:?}")))
}

fn parse_kind(s: &str) -> Result<MessageKind> {
    MessageKind::parse(s).ok_or_else(|| StoreError::Corrupt(format!("bad message kind {s:?}")))
}

fn optional_id<T: std::str::FromStr>(value: Option<String>) -> Result<Option<T>> {
    value.as_deref().map(parse_id).transpose()
}

/// A message from columns named with `prefix` (`lm_` for the last message).
fn message_of(row: &SqliteRow, prefix: &str) -> Result<SupportMessage> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(SupportMessage {
        seq: row.try_get(col("seq").as_str())?,
        kind: parse_kind(row.try_get::<&str, _>(col("kind").as_str())?)?,
        author_id: optional_id::<UserId>(row.try_get(col("author_id").as_str())?)?,
        author_name: row.try_get(col("author_name").as_str())?,
        text: row.try_get(col("text").as_str())?,
        cart_id: optional_id::<CartId>(row.try_get(col("cart_id").as_str())?)?,
        at: row.try_get(col("at").as_str())?,
    })
}

fn conversation_of(row: &SqliteRow) -> Result<Conversation> {
    let last_message = match row.try_get::<Option<i64>, _>("lm_seq")? {
        Some(_) => Some(message_of(row, "lm_")?),
        None => None,
    };
    let store_id: String = row.try_get("store_id")?;
    Ok(Conversation {
        id: parse_id(row.try_get::<&str, _>("id")?)?,
        customer: Customer {
            id: parse_id::<CustomerId>(row.try_get::<&str, _>("customer_id")?)?,
            store_id: store_id.clone(),
            user_id: parse_id(row.try_get::<&str, _>("user_id")?)?,
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            phone: row.try_get("phone")?,
            created_at: row.try_get("customer_created_at")?,
        },
        store_id,
        status: parse_status(row.try_get::<&str, _>("status")?)?,
        last_seq: row.try_get("last_seq")?,
        last_message,
        unread_for_agents: row.try_get("unread_for_agents")?,
        unread_for_customer: row.try_get("unread_for_customer")?,
        agents_read_seq: row.try_get("agents_read_seq")?,
        customer_read_seq: row.try_get("customer_read_seq")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The conversation with this id, read on `conn` (inside a transaction, so
/// that what a write returns is what it wrote).
async fn fetch(conn: &mut SqliteConnection, id: &str) -> Result<Option<Conversation>> {
    let row = sqlx::query(&format!("{SELECT_CONVERSATION} WHERE c.id = ?"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(conversation_of).transpose()
}

#[async_trait]
impl Support for SqliteStore {
    async fn open_conversation(&self, new: NewConversation<'_>) -> Result<(Conversation, bool)> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let user = new.user.to_string();
        let existing: Option<String> = sqlx::query_scalar(
            "SELECT c.id FROM conversations c WHERE c.store_id = ? AND c.user_id = ?",
        )
        .bind(new.store_id)
        .bind(&user)
        .fetch_optional(&mut *tx)
        .await?;
        let (id, created) = match existing {
            Some(id) => {
                // A guest who signed up since brings their e-mail along.
                sqlx::query(
                    "UPDATE customers SET email = COALESCE(email, ?)
                     WHERE store_id = ? AND user_id = ?",
                )
                .bind(new.email)
                .bind(new.store_id)
                .bind(&user)
                .execute(&mut *tx)
                .await?;
                (id, false)
            }
            None => {
                let customer = CustomerId::new_random().to_string();
                let id = ConversationId::new_random().to_string();
                sqlx::query(
                    "INSERT INTO customers (id, store_id, user_id, name, email, phone, created_at)
                     VALUES (?, ?, ?, ?, ?, NULL, ?)",
                )
                .bind(&customer)
                .bind(new.store_id)
                .bind(&user)
                .bind(new.name)
                .bind(new.email)
                .bind(new.now_ms)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO conversations (id, customer_id, store_id, user_id, status,
                                                created_at, updated_at)
                     VALUES (?, ?, ?, ?, 'open', ?, ?)",
                )
                .bind(&id)
                .bind(&customer)
                .bind(new.store_id)
                .bind(&user)
                .bind(new.now_ms)
                .bind(new.now_ms)
                .execute(&mut *tx)
                .await?;
                (id, true)
            }
        };
        let conversation = fetch(&mut tx, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a conversation vanished".into()))?;
        tx.commit().await?;
        Ok((conversation, created))
    }

    async fn conversation(&self, id: ConversationId) -> Result<Option<Conversation>> {
        let mut conn = self.pool.acquire().await?;
        fetch(&mut conn, &id.to_string()).await
    }

    async fn conversation_of(&self, store: &str, user: UserId) -> Result<Option<Conversation>> {
        let row = sqlx::query(&format!(
            "{SELECT_CONVERSATION} WHERE c.store_id = ? AND c.user_id = ?"
        ))
        .bind(store)
        .bind(user.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(conversation_of).transpose()
    }

    async fn list_conversations(
        &self,
        store: &str,
        status: Option<ConversationStatus>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Conversation>> {
        let rows = sqlx::query(&format!(
            "{SELECT_CONVERSATION}
             WHERE c.store_id = ? AND (? IS NULL OR c.status = ?)
             ORDER BY c.updated_at DESC, c.id DESC LIMIT ? OFFSET ?"
        ))
        .bind(store)
        .bind(status.map(ConversationStatus::as_str))
        .bind(status.map(ConversationStatus::as_str))
        .bind(limit as i64)
        .bind(offset as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(conversation_of).collect()
    }

    async fn append_message(
        &self,
        message: NewMessage<'_>,
    ) -> Result<Option<(SupportMessage, Conversation)>> {
        let id = message.conversation.to_string();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query("SELECT status, last_seq FROM conversations WHERE id = ?")
            .bind(&id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let status = parse_status(row.try_get::<&str, _>("status")?)?;
        if message.kind == MessageKind::Tip && status == ConversationStatus::Closed {
            return Ok(None);
        }
        let seq = row.try_get::<i64, _>("last_seq")? + 1;
        sqlx::query(
            "INSERT INTO support_messages (conversation_id, seq, kind, author_id, author_name,
                                           text, cart_id, at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(seq)
        .bind(message.kind.as_str())
        .bind(message.author.map(|u| u.to_string()))
        .bind(message.author_name)
        .bind(message.text)
        .bind(message.cart.map(|c| c.to_string()))
        .bind(message.now_ms)
        .execute(&mut *tx)
        .await?;
        let update = match message.kind {
            MessageKind::Tip => "UPDATE conversations SET last_seq = ?1 WHERE id = ?2",
            MessageKind::Agent => {
                "UPDATE conversations SET last_seq = ?1, last_message_seq = ?1, updated_at = ?3
                 WHERE id = ?2"
            }
            MessageKind::Customer => {
                "UPDATE conversations SET last_seq = ?1, last_message_seq = ?1, updated_at = ?3,
                                          status = 'open'
                 WHERE id = ?2"
            }
        };
        sqlx::query(update)
            .bind(seq)
            .bind(&id)
            .bind(message.now_ms)
            .execute(&mut *tx)
            .await?;
        let conversation = fetch(&mut tx, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a conversation vanished".into()))?;
        tx.commit().await?;
        let stored = SupportMessage {
            seq,
            kind: message.kind,
            author_id: message.author,
            author_name: message.author_name.to_owned(),
            text: message.text.to_owned(),
            cart_id: message.cart,
            at: message.now_ms,
        };
        Ok(Some((stored, conversation)))
    }

    async fn messages(
        &self,
        id: ConversationId,
        after: i64,
        limit: usize,
        tips: bool,
    ) -> Result<Vec<SupportMessage>> {
        let rows = sqlx::query(&format!(
            "{SELECT_MESSAGE} WHERE conversation_id = ? AND seq > ? AND (? OR kind <> 'tip')
             ORDER BY seq LIMIT ?"
        ))
        .bind(id.to_string())
        .bind(after)
        .bind(tips)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| message_of(row, "")).collect()
    }

    async fn mark_read(
        &self,
        id: ConversationId,
        side: ReadSide,
        seq: i64,
    ) -> Result<Option<Conversation>> {
        let id = id.to_string();
        let update = match side {
            ReadSide::Agents => {
                "UPDATE conversations SET agents_read_seq = MAX(agents_read_seq, MIN(?, last_seq))
                 WHERE id = ?"
            }
            ReadSide::Customer => {
                "UPDATE conversations
                 SET customer_read_seq = MAX(customer_read_seq, MIN(?, last_seq))
                 WHERE id = ?"
            }
        };
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(update)
            .bind(seq)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        let conversation = fetch(&mut tx, &id).await?;
        tx.commit().await?;
        Ok(conversation)
    }

    async fn set_status(
        &self,
        id: ConversationId,
        status: ConversationStatus,
    ) -> Result<Option<Conversation>> {
        let id = id.to_string();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE conversations SET status = ? WHERE id = ?")
            .bind(status.as_str())
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        let conversation = fetch(&mut tx, &id).await?;
        tx.commit().await?;
        Ok(conversation)
    }

    async fn set_contact(
        &self,
        id: ConversationId,
        change: ContactChange<'_>,
    ) -> Result<Option<Conversation>> {
        let id = id.to_string();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // ?1/?3 say whether to change the field; ?2/?4 are its new value.
        sqlx::query(
            "UPDATE customers
             SET email = CASE WHEN ?1 THEN ?2 ELSE email END,
                 phone = CASE WHEN ?3 THEN ?4 ELSE phone END
             WHERE id = (SELECT customer_id FROM conversations WHERE id = ?5)",
        )
        .bind(change.email.is_some())
        .bind(change.email.flatten())
        .bind(change.phone.is_some())
        .bind(change.phone.flatten())
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        let conversation = fetch(&mut tx, &id).await?;
        tx.commit().await?;
        Ok(conversation)
    }
}

#[cfg(test)]
mod tests {
    use cartroom_protocol::http::User;

    use super::*;
    use crate::config::Config;
    use crate::store::Accounts;

    async fn store() -> (SqliteStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&Config::for_data_dir(dir.path()))
            .await
            .unwrap();
        sqlx::query("INSERT OR IGNORE INTO stores (id, name, currency) VALUES ('s1', 'S', 'USD')")
            .execute(&store.pool)
            .await
            .unwrap();
        (store, dir)
    }

    async fn user(store: &SqliteStore, name: &str, email: Option<&str>) -> UserId {
        let user = User {
            id: UserId::new_random(),
            email: email.map(str::to_owned),
            name: name.into(),
            guest: email.is_none(),
        };
        store.insert_user(&user, None, 0).await.unwrap();
        user.id
    }

    fn new(user: UserId, email: Option<&str>, now_ms: i64) -> NewConversation<'_> {
        NewConversation {
            store_id: "s1",
            user,
            name: "Sam",
            email,
            now_ms,
        }
    }

    fn say(conversation: ConversationId, kind: MessageKind, text: &str) -> NewMessage<'_> {
        NewMessage {
            conversation,
            kind,
            author: None,
            author_name: "",
            text,
            cart: None,
            now_ms: 10,
        }
    }

    #[tokio::test]
    async fn one_conversation_per_customer_and_store_numbered_in_order() {
        let (store, _dir) = store().await;
        let sam = user(&store, "Sam", Some("sam@example.com")).await;
        let (first, created) = store.open_conversation(new(sam, None, 1)).await.unwrap();
        assert!(created);
        let (again, created) = store.open_conversation(new(sam, None, 2)).await.unwrap();
        assert!(!created);
        assert_eq!(again.id, first.id);
        let id = first.id;
        for (i, kind) in [MessageKind::Customer, MessageKind::Tip, MessageKind::Agent]
            .into_iter()
            .enumerate()
        {
            let (message, conversation) = store
                .append_message(say(id, kind, "hi"))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(message.seq, i as i64 + 1);
            assert_eq!(conversation.last_seq, i as i64 + 1);
        }
        let all = store.messages(id, 0, 10, true).await.unwrap();
        assert_eq!(all.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2, 3]);
        let customer_view = store.messages(id, 0, 10, false).await.unwrap();
        assert_eq!(
            customer_view.iter().map(|m| m.seq).collect::<Vec<_>>(),
            [1, 3]
        );
        assert_eq!(store.messages(id, 1, 1, true).await.unwrap()[0].seq, 2);
        let found = store.conversation_of("s1", sam).await.unwrap().unwrap();
        assert_eq!(found.last_message.map(|m| m.seq), Some(3));
        assert!(store.conversation_of("s2", sam).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn tips_never_count_never_reopen_and_wait_for_an_open_conversation() {
        let (store, _dir) = store().await;
        let sam = user(&store, "Sam", None).await;
        let (c, _) = store.open_conversation(new(sam, None, 1)).await.unwrap();
        let (_, after) = store
            .append_message(say(c.id, MessageKind::Customer, "help"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(after.unread_for_agents, 1);
        let (_, after) = store
            .append_message(say(c.id, MessageKind::Tip, "tip"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((after.unread_for_agents, after.unread_for_customer), (1, 0));
        assert_eq!(after.last_message.map(|m| m.seq), Some(1));
        let closed = store
            .set_status(c.id, ConversationStatus::Closed)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(closed.status, ConversationStatus::Closed);
        // Closed: no tip is stored.
        assert!(
            store
                .append_message(say(c.id, MessageKind::Tip, "tip"))
                .await
                .unwrap()
                .is_none()
        );
        // An agent's message leaves it closed; the customer's opens it.
        let (_, after) = store
            .append_message(say(c.id, MessageKind::Agent, "done?"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(after.status, ConversationStatus::Closed);
        assert_eq!(after.unread_for_customer, 1);
        let (m, after) = store
            .append_message(say(c.id, MessageKind::Customer, "no"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.seq, 4);
        assert_eq!(after.status, ConversationStatus::Open);
        assert_eq!(after.unread_for_agents, 2);
    }

    #[tokio::test]
    async fn read_marks_move_forward_only_and_contacts_change() {
        let (store, _dir) = store().await;
        let sam = user(&store, "Sam", None).await;
        let (c, _) = store.open_conversation(new(sam, None, 1)).await.unwrap();
        for _ in 0..3 {
            store
                .append_message(say(c.id, MessageKind::Customer, "?"))
                .await
                .unwrap();
        }
        let read = store.mark_read(c.id, ReadSide::Agents, 2).await.unwrap();
        assert_eq!(read.as_ref().map(|c| c.unread_for_agents), Some(1));
        let back = store.mark_read(c.id, ReadSide::Agents, 1).await.unwrap();
        assert_eq!(back.map(|c| c.agents_read_seq), Some(2));
        let past = store.mark_read(c.id, ReadSide::Agents, 99).await.unwrap();
        assert_eq!(
            past.map(|c| (c.agents_read_seq, c.unread_for_agents)),
            Some((3, 0))
        );
        let contact = ContactChange {
            email: Some(Some("sam@example.com")),
            phone: Some(Some("+1 555 0100")),
        };
        let changed = store.set_contact(c.id, contact).await.unwrap().unwrap();
        assert_eq!(changed.customer.email.as_deref(), Some("sam@example.com"));
        let forget = ContactChange {
            email: None,
            phone: Some(None),
        };
        let changed = store.set_contact(c.id, forget).await.unwrap().unwrap();
        assert_eq!(changed.customer.email.as_deref(), Some("sam@example.com"));
        assert_eq!(changed.customer.phone, None);
        let nobody = ConversationId::new_random();
        assert!(
            store
                .set_status(nobody, ConversationStatus::Open)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .append_message(say(nobody, MessageKind::Customer, "?"))
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_store_lists_its_own_conversations_newest_first() {
        let (store, _dir) = store().await;
        let (a, b) = (user(&store, "A", None).await, user(&store, "B", None).await);
        let (ca, _) = store.open_conversation(new(a, None, 1)).await.unwrap();
        let (cb, _) = store.open_conversation(new(b, None, 2)).await.unwrap();
        let mut later = say(ca.id, MessageKind::Customer, "up");
        later.now_ms = 5;
        store.append_message(later).await.unwrap();
        let listed = store.list_conversations("s1", None, 0, 10).await.unwrap();
        assert_eq!(
            listed.iter().map(|c| c.id).collect::<Vec<_>>(),
            [ca.id, cb.id]
        );
        store
            .set_status(cb.id, ConversationStatus::Closed)
            .await
            .unwrap();
        let closed = store
            .list_conversations("s1", Some(ConversationStatus::Closed), 0, 10)
            .await
            .unwrap();
        assert_eq!(closed.iter().map(|c| c.id).collect::<Vec<_>>(), [cb.id]);
        assert_eq!(
            store
                .list_conversations("s1", None, 1, 10)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            store
                .list_conversations("demo", None, 0, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
