//! Each cart's change log, snapshots, applied op ids and activity: how a
//! room loads, and the SQL the writer commits with. Every statement that
//! writes these tables is here, once.

use std::collections::HashMap;

use async_trait::async_trait;
use cartroom_protocol::{ActivityEvent, CartId, OpId};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::{SqliteStore, parse_id};
use crate::store::{
    CartState, ChangeLog, ChangeRecord, CommitTicket, LoadLimits, Result, Snapshot, StoreError,
};

/// Rows per multi-row INSERT, well under SQLite's bound-variable limit.
const ROWS_PER_INSERT: usize = 100;

#[async_trait]
impl ChangeLog for SqliteStore {
    async fn load_cart(&self, cart: CartId, limits: LoadLimits) -> Result<Option<CartState>> {
        let id = cart.to_string();
        let Some(head) = sqlx::query(
            "SELECT s.bytes, s.upto_seq, c.store_id
             FROM snapshots s JOIN carts c ON c.id = s.cart_id WHERE s.cart_id = ?",
        )
        .bind(&id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let snapshot_seq: i64 = head.get("upto_seq");
        let rows = sqlx::query(
            "SELECT seq, bytes FROM changes WHERE cart_id = ? AND seq > ? ORDER BY seq",
        )
        .bind(&id)
        .bind(snapshot_seq)
        .fetch_all(&self.pool)
        .await?;
        let last_seq = rows.last().map_or(snapshot_seq, |r| r.get("seq"));
        let changes = rows.into_iter().map(|r| r.get("bytes")).collect();
        let ops = sqlx::query(
            "SELECT user_id, op_id FROM applied_ops WHERE cart_id = ? ORDER BY seq DESC LIMIT ?",
        )
        .bind(&id)
        .bind(limits.op_memory as i64)
        .fetch_all(&self.pool)
        .await?;
        let mut applied_ops = ops
            .iter()
            .map(|r| Ok((parse_id(r.get::<&str, _>("user_id"))?, OpId(r.get("op_id")))))
            .collect::<Result<Vec<_>>>()?;
        applied_ops.reverse();
        let activity = self.recent_activity(cart, limits.activity_memory).await?;
        let members = sqlx::query(
            "SELECT m.user_id, u.name FROM members m JOIN users u ON u.id = m.user_id
             WHERE m.cart_id = ?",
        )
        .bind(&id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((parse_id(r.get::<&str, _>("user_id"))?, r.get("name"))))
        .collect::<Result<Vec<_>>>()?;
        Ok(Some(CartState {
            store_id: head.get("store_id"),
            snapshot: head.get("bytes"),
            changes,
            last_seq,
            snapshot_seq,
            applied_ops,
            activity,
            members,
        }))
    }

    async fn append(&self, record: ChangeRecord) -> CommitTicket {
        self.writer.append(record).await
    }

    async fn append_activity(&self, cart: CartId, event: ActivityEvent) -> CommitTicket {
        self.writer.append_activity(cart, event).await
    }

    fn try_snapshot(&self, snapshot: Snapshot) -> bool {
        self.writer.try_snapshot(snapshot)
    }

    async fn recent_activity(&self, cart: CartId, limit: usize) -> Result<Vec<ActivityEvent>> {
        let rows = sqlx::query(
            "SELECT seq, at, user_id, user_name, kind, text, subtotal, currency FROM activity
             WHERE cart_id = ? ORDER BY seq DESC LIMIT ?",
        )
        .bind(cart.to_string())
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        let mut events = rows
            .iter()
            .map(|r| {
                Ok(ActivityEvent {
                    seq: r.get("seq"),
                    at: r.get("at"),
                    user_id: parse_id(r.get::<&str, _>("user_id"))?,
                    user_name: r.get("user_name"),
                    kind: r.get("kind"),
                    text: r.get("text"),
                    subtotal: r.get("subtotal"),
                    currency: r.get("currency"),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        events.reverse();
        Ok(events)
    }
}

/// Writes changes (with their op ids and cart summaries) and activity
/// events with a few multi-row statements: the single SQLite connection is
/// the writer's bottleneck, and each statement is a round trip to it.
pub(super) async fn write_records(
    conn: &mut SqliteConnection,
    changes: &[&ChangeRecord],
    activity: &[(CartId, &ActivityEvent)],
) -> Result<()> {
    check_follows_log(conn, changes).await?;
    for chunk in changes.chunks(ROWS_PER_INSERT) {
        QueryBuilder::<Sqlite>::new("INSERT INTO changes (cart_id, seq, bytes) ")
            .push_values(chunk, |mut row, r| {
                row.push_bind(r.cart_id.to_string())
                    .push_bind(r.seq)
                    .push_bind(r.bytes.as_slice());
            })
            .build()
            .execute(&mut *conn)
            .await?;
        QueryBuilder::<Sqlite>::new(
            "INSERT OR IGNORE INTO applied_ops (cart_id, user_id, op_id, seq) ",
        )
        .push_values(chunk, |mut row, r| {
            row.push_bind(r.cart_id.to_string())
                .push_bind(r.user_id.to_string())
                .push_bind(r.op_id.0.as_str())
                .push_bind(r.seq);
        })
        .build()
        .execute(&mut *conn)
        .await?;
    }
    for chunk in activity.chunks(ROWS_PER_INSERT) {
        QueryBuilder::<Sqlite>::new(
            "INSERT INTO activity (cart_id, seq, at, user_id, user_name, kind, text, subtotal, currency) ",
        )
        .push_values(chunk, |mut row, (cart_id, e)| {
            row.push_bind(cart_id.to_string())
                .push_bind(e.seq)
                .push_bind(e.at)
                .push_bind(e.user_id.to_string())
                .push_bind(e.user_name.as_str())
                .push_bind(e.kind.as_str())
                .push_bind(e.text.as_str())
                .push_bind(e.subtotal)
                .push_bind(e.currency.as_str());
        })
        .build()
        .execute(&mut *conn)
        .await?;
    }
    // Only the latest summary of each cart matters.
    let mut summaries: HashMap<CartId, &ChangeRecord> = HashMap::new();
    for record in changes {
        summaries.insert(record.cart_id, record);
    }
    let summaries: Vec<&ChangeRecord> = summaries.into_values().collect();
    for chunk in summaries.chunks(ROWS_PER_INSERT) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "WITH v (id, name, subtotal, line_count, updated_at, lock_deadline) AS (",
        );
        query
            .push_values(chunk, |mut row, r| {
                row.push_bind(r.cart_id.to_string())
                    .push_bind(r.name.as_str())
                    .push_bind(r.activity.subtotal)
                    .push_bind(r.line_count)
                    .push_bind(r.activity.at)
                    .push_bind(r.lock_deadline);
            })
            .push(
                ") UPDATE carts SET name = v.name, subtotal = v.subtotal, line_count = v.line_count, \
                 updated_at = v.updated_at, lock_deadline = v.lock_deadline FROM v WHERE carts.id = v.id",
            );
        query.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Refuses changes that would leave a gap in a cart's log: each change
/// depends on the one before it, so a change whose predecessor never became
/// durable (its commit failed) must not become durable either, or the
/// reloaded document would hold a change it cannot apply.
async fn check_follows_log(conn: &mut SqliteConnection, changes: &[&ChangeRecord]) -> Result<()> {
    // The first change of each cart in the batch; the others must follow it.
    let mut first: HashMap<CartId, i64> = HashMap::new();
    let mut last: HashMap<CartId, i64> = HashMap::new();
    for record in changes {
        if let Some(prev) = last.insert(record.cart_id, record.seq) {
            if record.seq != prev + 1 {
                return Err(StoreError::Gap {
                    cart: record.cart_id,
                    seq: record.seq,
                });
            }
        } else {
            first.insert(record.cart_id, record.seq);
        }
    }
    let first: Vec<(CartId, i64)> = first.into_iter().collect();
    for chunk in first.chunks(ROWS_PER_INSERT) {
        let mut query = QueryBuilder::<Sqlite>::new("WITH v (cart_id, seq) AS (");
        query
            .push_values(chunk, |mut row, (cart, seq)| {
                row.push_bind(cart.to_string()).push_bind(seq);
            })
            .push(
                ") SELECT v.cart_id, v.seq FROM v \
                 WHERE v.seq - 1 > COALESCE((SELECT upto_seq FROM snapshots s WHERE s.cart_id = v.cart_id), 0) \
                 AND NOT EXISTS (SELECT 1 FROM changes c WHERE c.cart_id = v.cart_id AND c.seq = v.seq - 1) \
                 LIMIT 1",
            );
        if let Some(row) = query.build().fetch_optional(&mut *conn).await? {
            return Err(StoreError::Gap {
                cart: parse_id(row.get::<&str, _>("cart_id"))?,
                seq: row.get("seq"),
            });
        }
    }
    Ok(())
}

/// Puts the cart's snapshot (the first one, or a later one replacing it).
pub(super) async fn put_snapshot(
    conn: &mut SqliteConnection,
    cart_id: &str,
    upto_seq: i64,
    bytes: &[u8],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO snapshots (cart_id, upto_seq, bytes) VALUES (?, ?, ?)
         ON CONFLICT (cart_id) DO UPDATE SET upto_seq = excluded.upto_seq, bytes = excluded.bytes",
    )
    .bind(cart_id)
    .bind(upto_seq)
    .bind(bytes)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Replaces the snapshot and trims the log and the op ids it covers.
pub(super) async fn compact(conn: &mut SqliteConnection, snapshot: &Snapshot) -> Result<()> {
    let id = snapshot.cart_id.to_string();
    put_snapshot(conn, &id, snapshot.upto_seq, &snapshot.bytes).await?;
    sqlx::query("DELETE FROM changes WHERE cart_id = ? AND seq <= ?")
        .bind(&id)
        .bind(snapshot.upto_seq)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM applied_ops WHERE cart_id = ? AND seq < ?")
        .bind(&id)
        .bind(snapshot.forget_ops_before)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A write that needs room on disk and changes nothing that matters.
pub(super) async fn probe_write(conn: &mut SqliteConnection) -> Result<()> {
    sqlx::query(
        "INSERT INTO writer_probe (id, at) VALUES (1, unixepoch('subsec') * 1000)
         ON CONFLICT (id) DO UPDATE SET at = excluded.at",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
