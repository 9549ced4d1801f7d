//! A conversation and a message as rows: the queries that read them, what
//! turns a row into one, and reading a conversation back inside a write.

use cartroom_protocol::support::{
    Conversation, ConversationStatus, Customer, CustomerId, MessageKind, SupportMessage,
};
use cartroom_protocol::{CartId, UserId};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{PgConnection, PgPool, Postgres, Row};

use crate::store::postgres::parse_id;
use crate::store::{Result, StoreError};

/// A conversation with its customer, its newest message that is not a tip
/// and its unread counts, counted from the read marks.
pub(super) const SELECT_CONVERSATION: &str = "
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

pub(super) const SELECT_MESSAGE: &str =
    "SELECT seq, kind, author_id, author_name, text, cart_id, at FROM support_messages";

pub(super) fn parse_status(s: &str) -> Result<ConversationStatus> {
    ConversationStatus::parse(s).ok_or_else(|| StoreError::Corrupt(format!("bad status {s:?}")))
}

fn parse_kind(s: &str) -> Result<MessageKind> {
    MessageKind::parse(s).ok_or_else(|| StoreError::Corrupt(format!("bad message kind {s:?}")))
}

fn optional_id<T: std::str::FromStr>(value: Option<String>) -> Result<Option<T>> {
    value.as_deref().map(parse_id).transpose()
}

/// A message from columns named with `prefix` (`lm_` for the last message).
pub(super) fn message_of(row: &PgRow, prefix: &str) -> Result<SupportMessage> {
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

pub(super) fn conversation_of(row: &PgRow) -> Result<Conversation> {
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
pub(super) async fn fetch(conn: &mut PgConnection, id: &str) -> Result<Option<Conversation>> {
    let row = sqlx::query(&format!("{SELECT_CONVERSATION} WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(conversation_of).transpose()
}

/// The conversation a write on `conn` has just made or changed: it is
/// there, or the database is corrupt.
pub(super) async fn fetch_written(conn: &mut PgConnection, id: &str) -> Result<Conversation> {
    fetch(conn, id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("a conversation vanished".into()))
}

/// Takes the customers cursor lock, held until the transaction ends. Every
/// writer of customers takes it before it touches a row (see
/// `back_office/customers.rs`), so that no two wait on each other in
/// opposite orders, and a writer's reads see every committed customer.
pub(super) async fn lock_customers(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT cursor_lock('customers')")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Runs `update` on conversation `id` (or its customer) in one transaction
/// and reads the conversation back in it; `lock_customers` first when the
/// update writes a customer. Each update is one statement, which locks
/// the row it changes, so concurrent writers of one conversation queue.
pub(super) async fn update_and_fetch<'q>(
    pool: &PgPool,
    id: &str,
    update: Query<'q, Postgres, PgArguments>,
    customers: bool,
) -> Result<Option<Conversation>> {
    let mut tx = pool.begin().await?;
    if customers {
        lock_customers(&mut tx).await?;
    }
    update.execute(&mut *tx).await?;
    let conversation = fetch(&mut tx, id).await?;
    tx.commit().await?;
    Ok(conversation)
}
