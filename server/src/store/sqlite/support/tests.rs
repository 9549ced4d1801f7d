//! The support desk's store on a real database file.

use cartroom_protocol::UserId;
use cartroom_protocol::http::User;
use cartroom_protocol::support::{ConversationId, ConversationStatus, MessageKind};

use crate::config::Config;
use crate::store::Accounts;
use crate::store::sqlite::SqliteStore;
use crate::store::support::{ContactChange, NewConversation, NewMessage, ReadSide, Support};

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
async fn a_user_without_a_conversation_is_found_once_they_open_one() {
    let (store, _dir) = store().await;
    let sam = user(&store, "Sam", None).await;
    // Asked twice: the second answer comes from what the first learned.
    for _ in 0..2 {
        assert!(store.conversation_of("s1", sam).await.unwrap().is_none());
    }
    let (opened, _) = store.open_conversation(new(sam, None, 1)).await.unwrap();
    let found = store.conversation_of("s1", sam).await.unwrap().unwrap();
    assert_eq!(found.id, opened.id);
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
