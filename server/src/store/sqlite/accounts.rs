//! Users.

use async_trait::async_trait;
use cartroom_protocol::UserId;
use cartroom_protocol::http::User;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, parse_id};
use crate::store::{Accounts, Result};

/// Reads a user from a row with `id`, `email`, `name` and `is_guest`.
pub(super) fn user_from_row(row: &SqliteRow) -> Result<User> {
    Ok(User {
        id: parse_id(row.get::<&str, _>("id"))?,
        email: row.get("email"),
        name: row.get("name"),
        guest: row.get::<i64, _>("is_guest") != 0,
    })
}

#[async_trait]
impl Accounts for SqliteStore {
    async fn insert_user(
        &self,
        user: &User,
        password_hash: Option<&str>,
        now_ms: i64,
    ) -> Result<bool> {
        let res = sqlx::query(
            "INSERT INTO users (id, email, name, password_hash, is_guest, created_at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(user.id.to_string())
        .bind(&user.email)
        .bind(&user.name)
        .bind(password_hash)
        .bind(user.guest as i64)
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
            "UPDATE OR IGNORE users SET email = ?, name = ?, password_hash = ?, is_guest = 0
             WHERE id = ? AND is_guest = 1",
        )
        .bind(email)
        .bind(name)
        .bind(password_hash)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<(User, Option<String>)>> {
        let row = sqlx::query(
            "SELECT id, email, name, is_guest, password_hash FROM users WHERE email = ?",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((user_from_row(&r)?, r.get("password_hash"))))
            .transpose()
    }

    async fn user_name(&self, id: UserId) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT name FROM users WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?)
    }
}
