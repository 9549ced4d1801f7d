//! Conversations: one per customer and store, opened, found, listed
//! newest first, and moved between statuses.

use cartroom_protocol::UserId;
use cartroom_protocol::support::{Conversation, ConversationId, ConversationStatus};
use sqlx::{PgConnection, PgPool};

use super::customers;
use super::rows::{
    SELECT_CONVERSATION, conversation_of, fetch, fetch_written, lock_customers, update_and_fetch,
};
use crate::store::Result;
use crate::store::support::NewConversation;

async fn existing(conn: &mut PgConnection, store: &str, user: &str) -> Result<Option<String>> {
    let id = sqlx::query_scalar(
        "SELECT c.id FROM conversations c WHERE c.store_id = $1 AND c.user_id = $2",
    )
    .bind(store)
    .bind(user)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(id)
}

/// The customer's conversation with the store, opened if there is none
/// (then `true`).
///
/// SQLite's `BEGIN IMMEDIATE` kept two opens by one customer (two tabs, two
/// nodes) from both making one. Here making one takes the customers cursor
/// lock first and looks again: a concurrent open has committed by then,
/// and its conversation is found.
pub(super) async fn open(pool: &PgPool, new: NewConversation<'_>) -> Result<(Conversation, bool)> {
    let mut tx = pool.begin().await?;
    let user = new.user.to_string();
    let mut found = existing(&mut tx, new.store_id, &user).await?;
    if found.is_none() {
        lock_customers(&mut tx).await?;
        found = existing(&mut tx, new.store_id, &user).await?;
    }
    let (id, created) = match found {
        Some(id) => {
            customers::bring_email(&mut tx, &new, &user).await?;
            (id, false)
        }
        None => {
            let customer = customers::insert(&mut tx, &new, &user).await?;
            let id = ConversationId::new_random().to_string();
            sqlx::query(
                "INSERT INTO conversations (id, customer_id, store_id, user_id, status,
                                            created_at, updated_at)
                 VALUES ($1, $2, $3, $4, 'open', $5, $6)",
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
    let conversation = fetch_written(&mut tx, &id).await?;
    tx.commit().await?;
    Ok((conversation, created))
}

pub(super) async fn by_id(pool: &PgPool, id: ConversationId) -> Result<Option<Conversation>> {
    let mut conn = pool.acquire().await?;
    fetch(&mut conn, &id.to_string()).await
}

pub(super) async fn of_user(
    pool: &PgPool,
    store: &str,
    user: UserId,
) -> Result<Option<Conversation>> {
    let row = sqlx::query(&format!(
        "{SELECT_CONVERSATION} WHERE c.store_id = $1 AND c.user_id = $2"
    ))
    .bind(store)
    .bind(user.to_string())
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(conversation_of).transpose()
}

pub(super) async fn list(
    pool: &PgPool,
    store: &str,
    status: Option<ConversationStatus>,
    offset: usize,
    limit: usize,
) -> Result<Vec<Conversation>> {
    let rows = sqlx::query(&format!(
        "{SELECT_CONVERSATION}
         WHERE c.store_id = $1 AND ($2::TEXT IS NULL OR c.status = $2)
         ORDER BY c.updated_at DESC, c.id DESC LIMIT $3 OFFSET $4"
    ))
    .bind(store)
    .bind(status.map(ConversationStatus::as_str))
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .bind(i64::try_from(offset).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?;
    rows.iter().map(conversation_of).collect()
}

/// One statement, which locks the row: a message appended at once waits
/// for it (and a tip then sees the new status).
pub(super) async fn set_status(
    pool: &PgPool,
    id: ConversationId,
    status: ConversationStatus,
) -> Result<Option<Conversation>> {
    let id = id.to_string();
    let update = sqlx::query("UPDATE conversations SET status = $1 WHERE id = $2")
        .bind(status.as_str())
        .bind(id.clone());
    update_and_fetch(pool, &id, update, false).await
}
