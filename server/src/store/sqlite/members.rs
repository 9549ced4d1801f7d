//! Memberships: who may open which cart, with which role.

use async_trait::async_trait;
use cartroom_protocol::http::Member;
use cartroom_protocol::{CartId, MemberRole, UserId};
use sqlx::Row;

use super::{SqliteStore, parse_id, parse_role};
use crate::store::{MemberChange, MemberChangeError, Memberships, Result};

#[async_trait]
impl Memberships for SqliteStore {
    async fn role_of(&self, cart: CartId, user: UserId) -> Result<Option<MemberRole>> {
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM members WHERE cart_id = ? AND user_id = ?")
                .bind(cart.to_string())
                .bind(user.to_string())
                .fetch_optional(&self.pool)
                .await?;
        role.as_deref().map(parse_role).transpose()
    }

    async fn list_members(&self, cart: CartId) -> Result<Vec<Member>> {
        let rows = sqlx::query(
            "SELECT u.id, u.name, u.email, m.role FROM members m JOIN users u ON u.id = m.user_id
             WHERE m.cart_id = ? ORDER BY m.added_at, u.name",
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
        // The write lock from the start, so the admin count below cannot go stale.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let current: Option<String> =
            sqlx::query_scalar("SELECT role FROM members WHERE cart_id = ? AND user_id = ?")
                .bind(&cart)
                .bind(&user)
                .fetch_optional(&mut *tx)
                .await?;
        match (&current, change.add_if_missing) {
            (None, false) => return Err(MemberChangeError::NotMember),
            (None, true) => {
                let count: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE cart_id = ?")
                        .bind(&cart)
                        .fetch_one(&mut *tx)
                        .await?;
                if count as usize >= change.max_members {
                    return Err(MemberChangeError::TooMany(change.max_members));
                }
            }
            _ => {}
        }
        if current.as_deref() == Some(MemberRole::Admin.as_str())
            && change.role != Some(MemberRole::Admin)
        {
            let admins: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM members WHERE cart_id = ? AND role = 'admin'",
            )
            .bind(&cart)
            .fetch_one(&mut *tx)
            .await?;
            if admins <= 1 {
                return Err(MemberChangeError::LastAdmin);
            }
        }
        match change.role {
            Some(role) => {
                sqlx::query(
                    "INSERT INTO members (cart_id, user_id, role, added_at) VALUES (?, ?, ?, ?)
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
                sqlx::query("DELETE FROM members WHERE cart_id = ? AND user_id = ?")
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
