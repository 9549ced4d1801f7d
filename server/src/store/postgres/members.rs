//! Memberships: who may open which cart, with which role.
//!
//! SQLite decided a change under its one write lock (`BEGIN IMMEDIATE`).
//! Here several nodes change one cart's members at once, so
//! [`Memberships::change_member`] locks what it decides on: first the
//! cart's row (`FOR NO KEY UPDATE`: membership changes of one cart queue
//! behind each other, while the change log's inserts, which only take a
//! key-share lock on the cart through their foreign key, go on), then
//! every member row of the cart (`FOR UPDATE`, in `user_id` order so two
//! callers lock in the same order). Its checks are made on those locked
//! rows, which READ COMMITTED returns as last committed: two admins
//! demoting each other on two nodes run one after the other, and the
//! second sees one admin left.

use async_trait::async_trait;
use cartroom_protocol::http::Member;
use cartroom_protocol::{CartId, MemberRole, UserId};
use sqlx::Row;

use super::{PgStore, parse_id, parse_role};
use crate::store::{MemberChange, MemberChangeError, Memberships, Result};

#[async_trait]
impl Memberships for PgStore {
    async fn role_of(&self, cart: CartId, user: UserId) -> Result<Option<MemberRole>> {
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM members WHERE cart_id = $1 AND user_id = $2")
                .bind(cart.to_string())
                .bind(user.to_string())
                .fetch_optional(&self.pool)
                .await?;
        role.as_deref().map(parse_role).transpose()
    }

    async fn list_members(&self, cart: CartId) -> Result<Vec<Member>> {
        // COLLATE "C": names compare byte by byte, as SQLite's BINARY does,
        // whatever the database's collation.
        let rows = sqlx::query(
            r#"SELECT u.id, u.name, u.email, m.role FROM members m JOIN users u ON u.id = m.user_id
               WHERE m.cart_id = $1 ORDER BY m.added_at, u.name COLLATE "C""#,
        )
        .bind(cart.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Member {
                    user_id: parse_id(r.get::<&str, _>("id"))?,
                    name: r.get("name"),
                    email: r.get("email"),
                    role: parse_role(r.get("role"))?,
                })
            })
            .collect()
    }

    async fn change_member(&self, change: MemberChange) -> Result<(), MemberChangeError> {
        let cart = change.cart.to_string();
        let user = change.user.to_string();
        let mut tx = self.pool.begin().await?;
        // Queues this change behind any other of the cart's (see the top),
        // so that the count of members below cannot go stale either.
        sqlx::query("SELECT 1 FROM carts WHERE id = $1 FOR NO KEY UPDATE")
            .bind(&cart)
            .execute(&mut *tx)
            .await?;
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT user_id, role FROM members WHERE cart_id = $1 ORDER BY user_id FOR UPDATE",
        )
        .bind(&cart)
        .fetch_all(&mut *tx)
        .await?;
        let current = rows
            .iter()
            .find(|(id, _)| *id == user)
            .map(|(_, role)| role.as_str());
        match (current, change.add_if_missing) {
            (None, false) => return Err(MemberChangeError::NotMember),
            (None, true) if rows.len() >= change.max_members => {
                return Err(MemberChangeError::TooMany(change.max_members));
            }
            _ => {}
        }
        let admin = MemberRole::Admin.as_str();
        if current == Some(admin) && change.role != Some(MemberRole::Admin) {
            let admins = rows.iter().filter(|(_, role)| role == admin).count();
            if admins <= 1 {
                return Err(MemberChangeError::LastAdmin);
            }
        }
        match change.role {
            Some(role) => {
                sqlx::query(
                    "INSERT INTO members (cart_id, user_id, role, added_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (cart_id, user_id) DO UPDATE SET role = excluded.role",
                )
                .bind(&cart)
                .bind(&user)
                .bind(role.as_str())
                .bind(change.now_ms)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM members WHERE cart_id = $1 AND user_id = $2")
                    .bind(&cart)
                    .bind(&user)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
