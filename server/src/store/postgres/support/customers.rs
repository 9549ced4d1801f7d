//! A store's customers: made with their first conversation, their e-mail
//! taken along when a guest signs up, and their contact details changed.
//!
//! Unlike SQLite (one writer at a time), every write here takes the
//! customers cursor lock before it touches a row (see
//! [`lock_customers`]); the insert's trigger would take it anyway.

use cartroom_protocol::support::{Conversation, ConversationId, CustomerId};
use sqlx::{PgConnection, PgPool};

use super::rows::{lock_customers, update_and_fetch};
use crate::store::Result;
use crate::store::support::{ContactChange, NewConversation};

/// A guest who signed up since brings their e-mail along. Only when there
/// is one to bring is the lock taken (the common case, an e-mail already
/// known or none given, writes nothing, as SQLite's no-op update did).
pub(super) async fn bring_email(
    conn: &mut PgConnection,
    new: &NewConversation<'_>,
    user: &str,
) -> Result<()> {
    if new.email.is_none() {
        return Ok(());
    }
    let missing: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM customers WHERE store_id = $1 AND user_id = $2 AND email IS NULL",
    )
    .bind(new.store_id)
    .bind(user)
    .fetch_optional(&mut *conn)
    .await?;
    if missing.is_none() {
        return Ok(());
    }
    lock_customers(conn).await?;
    sqlx::query(
        "UPDATE customers SET email = COALESCE(email, $1)
         WHERE store_id = $2 AND user_id = $3",
    )
    .bind(new.email)
    .bind(new.store_id)
    .bind(user)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A new customer of `new.store_id`, its id. The caller holds the
/// customers cursor lock.
pub(super) async fn insert(
    conn: &mut PgConnection,
    new: &NewConversation<'_>,
    user: &str,
) -> Result<String> {
    let customer = CustomerId::new_random().to_string();
    sqlx::query(
        "INSERT INTO customers (id, store_id, user_id, name, email, phone, created_at)
         VALUES ($1, $2, $3, $4, $5, NULL, $6)",
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
    pool: &PgPool,
    id: ConversationId,
    change: ContactChange<'_>,
) -> Result<Option<Conversation>> {
    let id = id.to_string();
    // $1/$3 say whether to change the field; $2/$4 are its new value.
    let update = sqlx::query(
        "UPDATE customers
         SET email = CASE WHEN $1 THEN $2 ELSE email END,
             phone = CASE WHEN $3 THEN $4 ELSE phone END
         WHERE id = (SELECT customer_id FROM conversations WHERE id = $5)",
    )
    .bind(change.email.is_some())
    .bind(change.email.flatten())
    .bind(change.phone.is_some())
    .bind(change.phone.flatten())
    .bind(id.clone());
    update_and_fetch(pool, &id, update, true).await
}
