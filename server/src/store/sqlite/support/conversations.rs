//! Conversations: one per customer and store, opened, found, listed
//! newest first, and moved between statuses.

use cartroom_protocol::UserId;
use cartroom_protocol::support::{Conversation, ConversationId, ConversationStatus};
use sqlx::SqlitePool;

use super::customers;
use super::rows::{SELECT_CONVERSATION, conversation_of, fetch, fetch_written, update_and_fetch};
use crate::store::Result;
use crate::store::support::NewConversation;

/// The customer's conversation with the store, opened if there is none
/// (then `true`).
pub(super) async fn open(
    pool: &SqlitePool,
    new: NewConversation<'_>,
) -> Result<(Conversation, bool)> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
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
            customers::bring_email(&mut tx, &new, &user).await?;
            (id, false)
        }
        None => {
            let customer = customers::insert(&mut tx, &new, &user).await?;
            let id = ConversationId::new_random().to_string();
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
    let conversation = fetch_written(&mut tx, &id).await?;
    tx.commit().await?;
    Ok((conversation, created))
}

pub(super) async fn by_id(pool: &SqlitePool, id: ConversationId) -> Result<Option<Conversation>> {
    let mut conn = pool.acquire().await?;
    fetch(&mut conn, &id.to_string()).await
}

pub(super) async fn of_user(
    pool: &SqlitePool,
    store: &str,
    user: UserId,
) -> Result<Option<Conversation>> {
    let row = sqlx::query(&format!(
        "{SELECT_CONVERSATION} WHERE c.store_id = ? AND c.user_id = ?"
    ))
    .bind(store)
    .bind(user.to_string())
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(conversation_of).transpose()
}

pub(super) async fn list(
    pool: &SqlitePool,
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
    .fetch_all(pool)
    .await?;
    rows.iter().map(conversation_of).collect()
}

pub(super) async fn set_status(
    pool: &SqlitePool,
    id: ConversationId,
    status: ConversationStatus,
) -> Result<Option<Conversation>> {
    let id = id.to_string();
    let update = sqlx::query("UPDATE conversations SET status = ? WHERE id = ?")
        .bind(status.as_str())
        .bind(&id);
    update_and_fetch(pool, &id, update).await
}
