//! A conversation's messages: appended under the next `seq`, read in
//! pages, and read marks that only move forward.

use cartroom_protocol::support::{
    Conversation, ConversationId, ConversationStatus, MessageKind, SupportMessage,
};
use sqlx::{Row, SqlitePool};

use super::rows::{SELECT_MESSAGE, fetch_written, message_of, parse_status, update_and_fetch};
use crate::store::Result;
use crate::store::support::{NewMessage, ReadSide};

/// The message stored under the conversation's next `seq`, and the
/// conversation after it; `None` for no such conversation, or a tip for
/// a closed one.
pub(super) async fn append(
    pool: &SqlitePool,
    message: NewMessage<'_>,
) -> Result<Option<(SupportMessage, Conversation)>> {
    let id = message.conversation.to_string();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
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
    let conversation = fetch_written(&mut tx, &id).await?;
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

/// Up to `limit` messages after `after`, in order; tips only when `tips`.
pub(super) async fn page(
    pool: &SqlitePool,
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
    .fetch_all(pool)
    .await?;
    rows.iter().map(|row| message_of(row, "")).collect()
}

/// Moves one side's read mark up to `seq` (never back, never past the
/// last message).
pub(super) async fn mark_read(
    pool: &SqlitePool,
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
    update_and_fetch(pool, &id, sqlx::query(update).bind(seq).bind(&id)).await
}
