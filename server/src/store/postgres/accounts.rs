//! Users.
//!
//! As on SQLite; `is_guest` is a BOOLEAN here. Turning a guest into an
//! account whose e-mail is taken is refused by the unique e-mail, which
//! Postgres reports as an error where SQLite's `UPDATE OR IGNORE` skipped
//! the row: it is read back as "taken" (false), the same answer.

use async_trait::async_trait;
use cartroom_protocol::UserId;
use cartroom_protocol::http::User;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PgStore, parse_id};
use crate::store::{Accounts, Result};

/// Reads a user from a row with `id`, `email`, `name` and `is_guest`.
pub(super) fn user_from_row(row: &PgRow) -> Result<User> {
    Ok(User {
        id: parse_id(row.get::<&str, _>("id"))?,
        email: row.get("email"),
        name: row.get("name"),
        guest: row.get::<bool, _>("is_guest"),
    })
}

/// Whether a statement failed on a unique key (an e-mail taken).
pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

#[async_trait]
impl Accounts for PgStore {
    async fn insert_user(
        &self,
        user: &User,
        password_hash: Option<&str>,
        now_ms: i64,
    ) -> Result<bool> {
        // Any conflict (the id, or the e-mail) inserts nothing; a racing
        // insert of the same e-mail waits for the first and then does nothing.
        let res = sqlx::query(
            "INSERT INTO users (id, email, name, password_hash, is_guest, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT DO NOTHING",
        )
        .bind(user.id.to_string())
        .bind(&user.email)
        .bind(&user.name)
        .bind(password_hash)
        .bind(user.guest)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn upgrade_guest(
        &self,
        id: UserId,
        email: &str,
        name: &str,
        password_hash: &str,
    ) -> Result<bool> {
        let res = sqlx::query(
            "UPDATE users SET email = $1, name = $2, password_hash = $3, is_guest = FALSE
             WHERE id = $4 AND is_guest",
        )
        .bind(email)
        .bind(name)
        .bind(password_hash)
        .bind(id.to_string())
        .execute(&self.pool)
        .await;
        match res {
            Ok(res) => Ok(res.rows_affected() == 1),
            // SQLite's OR IGNORE: the e-mail is taken, nothing changes.
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<(User, Option<String>)>> {
        let row = sqlx::query(
            "SELECT id, email, name, is_guest, password_hash FROM users WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((user_from_row(&r)?, r.get("password_hash"))))
            .transpose()
    }

    async fn user_name(&self, id: UserId) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT name FROM users WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?)
    }
}

#[cfg(test)]
mod tests;
