//! The support desk's store on Postgres: SQLite's tests
//! (`sqlite/support/tests.rs`), with bodies that take any [`Support`], and
//! the races SQLite could not have (several writers at once).

use std::collections::BTreeSet;
use std::sync::Arc;

use cartroom_protocol::UserId;
use cartroom_protocol::support::{ConversationId, ConversationStatus, MessageKind};

use crate::store::postgres::PgStore;
use crate::store::support::{ContactChange, NewConversation, NewMessage, ReadSide, Support};

/// A store on a fresh schema with the store `s1`, or `None` without
/// Postgres.
async fn store() -> Option<PgStore> {
    let store = crate::store::postgres::testing::fresh().await?;
    sqlx::query("INSERT INTO stores (id, name, currency) VALUES ('s1', 'S', 'USD')")
        .execute(&store.pool)
        .await
        .unwrap();
    Some(store)
}

/// An account, written as the accounts store would (a guest without
/// e-mail).
async fn user(store: &PgStore, name: &str, email: Option<&str>) -> UserId {
    let id = UserId::new_random();
    sqlx::query(
        "INSERT INTO users (id, email, name, password_hash, is_guest, created_at)
         VALUES ($1, $2, $3, NULL, $4, 0)",
    )
    .bind(id.to_string())
    .bind(email)
    .bind(name)
    .bind(email.is_none())
    .execute(&store.pool)
    .await
    .unwrap();
    id
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

async fn numbered_in_order(store: &impl Support, sam: UserId) {
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
async fn one_conversation_per_customer_and_store_numbered_in_order() {
    let Some(store) = store().await else { return };
    let sam = user(&store, "Sam", Some("sam@example.com")).await;
    numbered_in_order(&store, sam).await;
}

async fn tips_wait_for_an_open_conversation(store: &impl Support, sam: UserId) {
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
async fn tips_never_count_never_reopen_and_wait_for_an_open_conversation() {
    let Some(store) = store().await else { return };
    let sam = user(&store, "Sam", None).await;
    tips_wait_for_an_open_conversation(&store, sam).await;
}

async fn read_marks_and_contacts(store: &impl Support, sam: UserId) {
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
    assert!(
        store
            .mark_read(nobody, ReadSide::Customer, 1)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn read_marks_move_forward_only_and_contacts_change() {
    let Some(store) = store().await else { return };
    let sam = user(&store, "Sam", None).await;
    read_marks_and_contacts(&store, sam).await;
}

async fn listed_newest_first(store: &impl Support, a: UserId, b: UserId) {
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

#[tokio::test]
async fn a_store_lists_its_own_conversations_newest_first() {
    let Some(store) = store().await else { return };
    let (a, b) = (user(&store, "A", None).await, user(&store, "B", None).await);
    listed_newest_first(&store, a, b).await;
}

/// A guest who signs up brings the e-mail to the customer on their next
/// open; an e-mail already known stays.
#[tokio::test]
async fn a_reopened_conversation_fills_a_missing_email_only() {
    let Some(store) = store().await else { return };
    let sam = user(&store, "Sam", None).await;
    let (c, _) = store.open_conversation(new(sam, None, 1)).await.unwrap();
    assert_eq!(c.customer.email, None);
    let (c, created) = store
        .open_conversation(new(sam, Some("sam@example.com"), 2))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(c.customer.email.as_deref(), Some("sam@example.com"));
    let (c, _) = store
        .open_conversation(new(sam, Some("other@example.com"), 3))
        .await
        .unwrap();
    assert_eq!(c.customer.email.as_deref(), Some("sam@example.com"));
}

/// Posts from many writers at once (as from several nodes) each take
/// their own `seq`: 1..=n, none twice, and `last_seq` counts them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_posts_to_one_conversation_take_distinct_seqs() {
    let Some(store) = store().await else { return };
    let sam = user(&store, "Sam", None).await;
    let store = Arc::new(store);
    let (c, _) = store.open_conversation(new(sam, None, 1)).await.unwrap();
    let posts = 24;
    let tasks: Vec<_> = (0..posts)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let kind = [MessageKind::Customer, MessageKind::Agent, MessageKind::Tip][i % 3];
                let (m, _) = store
                    .append_message(say(c.id, kind, "at once"))
                    .await
                    .unwrap()
                    .unwrap();
                m.seq
            })
        })
        .collect();
    let mut seqs = BTreeSet::new();
    for task in tasks {
        assert!(seqs.insert(task.await.unwrap()), "a seq taken twice");
    }
    let all: BTreeSet<i64> = (1..=posts as i64).collect();
    assert_eq!(seqs, all);
    let after = store.conversation(c.id).await.unwrap().unwrap();
    assert_eq!(after.last_seq, posts as i64);
    assert_eq!(after.unread_for_agents, (posts / 3) as i64);
    let stored = store.messages(c.id, 0, 100, true).await.unwrap();
    assert_eq!(stored.len(), posts);
}

/// One customer opening the chat from two places at once gets one
/// conversation, made once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_opens_by_one_customer_make_one_conversation() {
    let Some(store) = store().await else { return };
    let sam = user(&store, "Sam", None).await;
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.open_conversation(new(sam, None, i)).await.unwrap() })
        })
        .collect();
    let mut ids = BTreeSet::new();
    let mut made = 0;
    for task in tasks {
        let (c, created) = task.await.unwrap();
        ids.insert(c.id);
        made += usize::from(created);
    }
    assert_eq!((ids.len(), made), (1, 1));
}
