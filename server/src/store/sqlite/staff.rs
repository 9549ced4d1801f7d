//! The store's staff.

use async_trait::async_trait;
use cartroom_protocol::UserId;
use cartroom_protocol::store::{StaffMember, StoreRole};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, parse_id};
use crate::store::staff::{StaffAccess, StaffRemoval, StoreStaff};
use crate::store::{Result, StoreError};

fn parse_store_role(s: &str) -> Result<StoreRole> {
    StoreRole::parse(s).ok_or_else(|| StoreError::Corrupt(format!("bad store role {s:?}")))
}

fn access_from_row(row: &SqliteRow) -> Result<StaffAccess> {
    Ok(StaffAccess {
        role: parse_store_role(row.get::<&str, _>("role"))?,
        customer_update: row.get::<i64, _>("customer_update") != 0,
    })
}

#[async_trait]
impl StoreStaff for SqliteStore {
    async fn store_role(&self, store: &str, user: UserId) -> Result<Option<StaffAccess>> {
        let row = sqlx::query(
            "SELECT role, customer_update FROM store_staff WHERE store_id = ? AND user_id = ?",
        )
        .bind(store)
        .bind(user.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(access_from_row).transpose()
    }

    async fn stores_of(&self, user: UserId) -> Result<Vec<(String, StaffAccess)>> {
        let rows = sqlx::query(
            "SELECT store_id, role, customer_update FROM store_staff WHERE user_id = ?
             ORDER BY store_id",
        )
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.get("store_id"), access_from_row(row)?)))
            .collect()
    }

    async fn list_staff(&self, store: &str) -> Result<Vec<StaffMember>> {
        let rows = sqlx::query(
            "SELECT s.user_id, u.email, u.name, s.role, s.customer_update, s.added_at
             FROM store_staff s JOIN users u ON u.id = s.user_id
             WHERE s.store_id = ?
             ORDER BY s.role = 'agent', s.added_at, s.user_id",
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
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(store)
        .bind(user.to_string())
        .bind(access.role.as_str())
        .bind(access.may_update_customers() as i64)
        .bind(added_by.map(|u| u.to_string()))
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn remove_staff(&self, store: &str, user: UserId) -> Result<StaffRemoval> {
        // BEGIN IMMEDIATE: two owners removing each other cannot both pass
        // the count.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM store_staff WHERE store_id = ? AND user_id = ?")
                .bind(store)
                .bind(user.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        let Some(role) = role else {
            return Ok(StaffRemoval::NotStaff);
        };
        if parse_store_role(&role)? == StoreRole::Owner {
            let owners: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM store_staff WHERE store_id = ? AND role = 'owner'",
            )
            .bind(store)
            .fetch_one(&mut *tx)
            .await?;
            if owners <= 1 {
                return Ok(StaffRemoval::LastOwner);
            }
        }
        sqlx::query("DELETE FROM store_staff WHERE store_id = ? AND user_id = ?")
            .bind(store)
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(StaffRemoval::Removed)
    }

    async fn has_owner(&self, store: &str) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM store_staff WHERE store_id = ? AND role = 'owner' LIMIT 1",
        )
        .bind(store)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }
}
