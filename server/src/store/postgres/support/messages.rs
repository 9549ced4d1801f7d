//! A conversation's messages: appended under the next `seq`, read in
//! pages, and read marks that only move forward.

use cartroom_protocol::support::{Conversation, ConversationId, MessageKind, SupportMessage};
use sqlx::PgPool;

use super::rows::{SELECT_MESSAGE, fetch_written, message_of, update_and_fetch};
use crate::store::Result;
use crate::store::support::{NewMessage, ReadSide};

/// The message stored under the conversation's next `seq`, and the
/// conversation after it; `None` for no such conversation, or a tip for
/// a closed one.
///
/// SQLite read `last_seq` and wrote `last_seq + 1` with one writer at a
/// time. Here the conversation's counters move first, in one `UPDATE ...
/// RETURNING` that locks the row until the transaction ends: a concurrent
/// post (from any node) waits and then takes the next `seq`, never the
/// same one. A tip's update only matches an open conversation (Postgres
/// re-checks that on the row a concurrent close left), so no row comes
/// back for a closed one and nothing is written.
pub(super) async fn append(
    pool: &PgPool,
    message: NewMessage<'_>,
) -> Result<Option<(SupportMessage, Conversation)>> {
    let id = message.conversation.to_string();
    let mut tx = pool.begin().await?;
    let update = match message.kind {
        MessageKind::Tip => {
            "UPDATE conversations SET last_seq = last_seq + 1
             WHERE id = $1 AND status = 'open' RETURNING last_seq"
        }
        MessageKind::Agent => {
            "UPDATE conversations SET last_seq = last_seq + 1, last_message_seq = last_seq + 1,
                                      updated_at = $2
             WHERE id = $1 RETURNING last_seq"
        }
        MessageKind::Customer => {
            "UPDATE conversations SET last_seq = last_seq + 1, last_message_seq = last_seq + 1,
                                      updated_at = $2, status = 'open'
             WHERE id = $1 RETURNING last_seq"
        }
    };
    let mut update = sqlx::query_scalar::<_, i64>(update).bind(&id);
    if message.kind != MessageKind::Tip {
        update = update.bind(message.now_ms);
    }
    let seq = update.fetch_optional(&mut *tx).await?;
    let Some(seq) = seq else {
        return Ok(None);
    };
    sqlx::query(
        "INSERT INTO support_messages (conversation_id, seq, kind, author_id, author_name,
                                       text, cart_id, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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
    pool: &PgPool,
    id: ConversationId,
    after: i64,
    limit: usize,
    tips: bool,
) -> Result<Vec<SupportMessage>> {
    let rows = sqlx::query(&format!(
        "{SELECT_MESSAGE} WHERE conversation_id = $1 AND seq > $2 AND ($3 OR kind <> 'tip')
         ORDER BY seq LIMIT $4"
    ))
    .bind(id.to_string())
    .bind(after)
    .bind(tips)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?;
    rows.iter().map(|row| message_of(row, "")).collect()
}

/// Moves one side's read mark up to `seq` (never back, never past the
/// last message), in one statement on the locked row.
pub(super) async fn mark_read(
    pool: &PgPool,
    id: ConversationId,
    side: ReadSide,
    seq: i64,
) -> Result<Option<Conversation>> {
    let id = id.to_string();
    let update = match side {
        ReadSide::Agents => {
            "UPDATE conversations
             SET agents_read_seq = GREATEST(agents_read_seq, LEAST($1, last_seq))
             WHERE id = $2"
        }
        ReadSide::Customer => {
            "UPDATE conversations
             SET customer_read_seq = GREATEST(customer_read_seq, LEAST($1, last_seq))
             WHERE id = $2"
        }
    };
    let update = sqlx::query(update).bind(seq).bind(id.clone());
    update_and_fetch(pool, &id, update, false).await
}
