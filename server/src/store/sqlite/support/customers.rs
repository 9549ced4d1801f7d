//! A store's customers: made with their first conversation, their e-mail
//! taken along when a guest signs up, and their contact details changed.

use cartroom_protocol::support::{Conversation, ConversationId, CustomerId};
use sqlx::{SqliteConnection, SqlitePool};

use super::rows::update_and_fetch;
use crate::store::Result;
use crate::store::support::{ContactChange, NewConversation};

/// A guest who signed up since brings their e-mail along.
pub(super) async fn bring_email(
    conn: &mut SqliteConnection,
    new: &NewConversation<'_>,
    user: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE customers SET email = COALESCE(email, ?)
         WHERE store_id = ? AND user_id = ?",
    )
    .bind(new.email)
    .bind(new.store_id)
    .bind(user)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A new customer of `new.store_id`, its id.
pub(super) async fn insert(
    conn: &mut SqliteConnection,
    new: &NewConversation<'_>,
    user: &str,
) -> Result<String> {
    let customer = CustomerId::new_random().to_string();
    sqlx::query(
        "INSERT INTO customers (id, store_id, user_id, name, email, phone, created_at)
         VALUES (?, ?, ?, ?, ?, NULL, ?)",
    )
    .bind(&customer)
    .bind(new.store_id)
    .bind(user)
    .bind(new.name)
    .bind(new.email)
    .bind(new.now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(customer)
}

/// Changes the contact details of the customer of conversation `id`.
pub(super) async fn set_contact(
    pool: &SqlitePool,
    id: ConversationId,
    change: ContactChange<'_>,
) -> Result<Option<Conversation>> {
    let id = id.to_string();
    // ?1/?3 say whether to change the field; ?2/?4 are its new value.
    let update = sqlx::query(
        "UPDATE customers
         SET email = CASE WHEN ?1 THEN ?2 ELSE email END,
             phone = CASE WHEN ?3 THEN ?4 ELSE phone END
         WHERE id = (SELECT customer_id FROM conversations WHERE id = ?5)",
    )
    .bind(change.email.is_some())
    .bind(change.email.flatten())
    .bind(change.phone.is_some())
    .bind(change.phone.flatten())
    .bind(&id);
    update_and_fetch(pool, &id, update).await
}
