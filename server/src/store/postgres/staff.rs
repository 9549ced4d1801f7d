//! The store's staff.
//!
//! Postgres differs from SQLite in [`StoreStaff::remove_staff`]: SQLite's
//! `BEGIN IMMEDIATE` let it count the owners and delete in one step. Here
//! two owners removing each other at once (on two nodes) could both count
//! two owners; so the removal first locks, in one statement and in user id
//! order (so that two removals cannot deadlock), the rows of the store's
//! owners and of the one removed. The second removal then waits, and reads
//! the owners the first one left.

use async_trait::async_trait;
use cartroom_protocol::UserId;
use cartroom_protocol::store::{StaffMember, StoreRole};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PgStore, parse_id};
use crate::store::staff::{StaffAccess, StaffRemoval, StoreStaff};
use crate::store::{Result, StoreError};

#[cfg(test)]
mod tests;

fn parse_store_role(s: &str) -> Result<StoreRole> {
    StoreRole::parse(s).ok_or_else(|| StoreError::Corrupt(format!("bad store role {s:?}")))
}

fn access_from_row(row: &PgRow) -> Result<StaffAccess> {
    Ok(StaffAccess {
        role: parse_store_role(row.get::<&str, _>("role"))?,
        customer_update: row.get::<bool, _>("customer_update"),
    })
}

#[async_trait]
impl StoreStaff for PgStore {
    async fn store_role(&self, store: &str, user: UserId) -> Result<Option<StaffAccess>> {
        let row = sqlx::query(
            "SELECT role, customer_update FROM store_staff WHERE store_id = $1 AND user_id = $2",
        )
        .bind(store)
        .bind(user.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(access_from_row).transpose()
    }

    async fn stores_of(&self, user: UserId) -> Result<Vec<(String, StaffAccess)>> {
        // `COLLATE "C"`: byte order, as SQLite's BINARY collation sorts.
        let rows = sqlx::query(
            "SELECT store_id, role, customer_update FROM store_staff WHERE user_id = $1
             ORDER BY store_id COLLATE \"C\"",
        )
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.get("store_id"), access_from_row(row)?)))
            .collect()
    }

    async fn list_staff(&self, store: &str) -> Result<Vec<StaffMember>> {
        // `role = 'agent'` is a boolean: false (owners) sorts first, as
        // SQLite's 0 before 1.
        let rows = sqlx::query(
            "SELECT s.user_id, u.email, u.name, s.role, s.customer_update, s.added_at
             FROM store_staff s JOIN users u ON u.id = s.user_id
             WHERE s.store_id = $1
             ORDER BY s.role = 'agent', s.added_at, s.user_id COLLATE \"C\"",
        )
        .bind(store)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StaffMember {
                    user_id: parse_id(row.get::<&str, _>("user_id"))?,
                    email: row.get::<Option<String>, _>("email").unwrap_or_default(),
                    name: row.get("name"),
                    role: parse_store_role(row.get::<&str, _>("role"))?,
                    customer_update: access_from_row(row)?.may_update_customers(),
                    added_at: row.get("added_at"),
                })
            })
            .collect()
    }

    async fn add_staff(
        &self,
        store: &str,
        user: UserId,
        access: StaffAccess,
        added_by: Option<UserId>,
        now_ms: i64,
    ) -> Result<bool> {
        let res = sqlx::query(
            "INSERT INTO store_staff (store_id, user_id, role, customer_update, added_by, added_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(store)
        .bind(user.to_string())
        .bind(access.role.as_str())
        .bind(access.may_update_customers())
        .bind(added_by.map(|u| u.to_string()))
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn remove_staff(&self, store: &str, user: UserId) -> Result<StaffRemoval> {
        let user_s = user.to_string();
        let mut tx = self.pool.begin().await?;
        // Two owners removing each other cannot both pass the count: the
        // owners' rows (and the removed one's) are locked, in one order.
        let rows = sqlx::query(
            "SELECT user_id, role FROM store_staff
             WHERE store_id = $1 AND (role = 'owner' OR user_id = $2)
             ORDER BY user_id COLLATE \"C\" FOR UPDATE",
        )
        .bind(store)
        .bind(&user_s)
        .fetch_all(&mut *tx)
        .await?;
        let mut role = None;
        let mut owners = 0;
        for row in &rows {
            let their_role = parse_store_role(row.get::<&str, _>("role"))?;
            if their_role == StoreRole::Owner {
                owners += 1;
            }
            if row.get::<&str, _>("user_id") == user_s {
                role = Some(their_role);
            }
        }
        let Some(role) = role else {
            return Ok(StaffRemoval::NotStaff);
        };
        if role == StoreRole::Owner && owners <= 1 {
            return Ok(StaffRemoval::LastOwner);
        }
        sqlx::query("DELETE FROM store_staff WHERE store_id = $1 AND user_id = $2")
            .bind(store)
            .bind(&user_s)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(StaffRemoval::Removed)
    }

    async fn has_owner(&self, store: &str) -> Result<bool> {
        let found: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM store_staff WHERE store_id = $1 AND role = 'owner' LIMIT 1",
        )
        .bind(store)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }
}
