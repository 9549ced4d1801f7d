//! Each cart's change log (a change's row also holds its op id, its
//! activity event and the cart's figures after it), the bases of its
//! epochs, and the activity that is not a change: how a room loads, how
//! history reads old epochs, and the statements the writer commits with
//! (on its own connection, `writer`). Every statement that writes these
//! tables is here, once.

use std::collections::HashMap;

use async_trait::async_trait;
use cartroom_protocol::{ActivityEvent, CartId, OpId};
use sqlx::{Row, SqliteConnection};

use super::{SqliteStore, parse_id};
use crate::store::write_queue::WriteCmd;
use crate::store::{
    Base, CartState, CartSummary, ChangeLog, ChangeRecord, CommitTicket, EpochInfo, LoadLimits,
    Result, StoreError,
};

/// The highest seq a change's key holds: `change_log` keys a change by its
/// cart's number << 32 | seq (migration 0014).
const SEQ_MAX: i64 = (1 << 32) - 1;

/// The keys of cart `?1`'s changes: a range of `change_log`'s rowids.
const CART_KEYS: &str = "key > (SELECT num FROM carts WHERE id = ?1) << 32
    AND key < ((SELECT num FROM carts WHERE id = ?1) + 1) << 32";

#[async_trait]
impl ChangeLog for SqliteStore {
    async fn load_cart(&self, cart: CartId, limits: LoadLimits) -> Result<Option<CartState>> {
        let id = cart.to_string();
        let Some(head) = sqlx::query(
            "SELECT e.epoch, e.base_seq, e.bytes, c.store_id, c.num
             FROM epochs e JOIN carts c ON c.id = e.cart_id
             WHERE e.cart_id = ? ORDER BY e.epoch DESC LIMIT 1",
        )
        .bind(&id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let snapshot_seq: i64 = head.get("base_seq");
        let first_key = head.try_get::<i64, _>("num")? << 32;
        let rows = sqlx::query(
            "SELECT key & 4294967295 AS seq, bytes FROM change_log
             WHERE key > ?1 AND key <= ?2 ORDER BY key",
        )
        .bind(first_key | snapshot_seq)
        .bind(first_key | SEQ_MAX)
        .fetch_all(&self.pool)
        .await?;
        let last_seq = rows.last().map_or(snapshot_seq, |r| r.get("seq"));
        let changes = rows.into_iter().map(|r| r.get("bytes")).collect();
        // Changes carry their op ids; applied_ops holds those of changes
        // that a snapshot trimmed before changes carried them.
        let ops = sqlx::query(
            "SELECT user_id, op_id, seq FROM (
               SELECT user_id, op_id, key & 4294967295 AS seq FROM change_log
               WHERE key > ?3 AND key <= ?4 AND op_id IS NOT NULL ORDER BY key DESC LIMIT ?2)
             UNION ALL
             SELECT user_id, op_id, seq FROM (
               SELECT user_id, op_id, seq FROM applied_ops
               WHERE cart_id = ?1 ORDER BY seq DESC LIMIT ?2)
             ORDER BY seq DESC LIMIT ?2",
        )
        .bind(&id)
        .bind(limits.op_memory as i64)
        .bind(first_key)
        .bind(first_key | SEQ_MAX)
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
            epoch: head.get("epoch"),
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
        self.writer.commit(WriteCmd::change(record)).await
    }

    async fn append_activity(&self, cart: CartId, term: i64, event: ActivityEvent) -> CommitTicket {
        let activity = WriteCmd::activity(cart, term, event);
        self.writer.commit(activity).await
    }

    fn try_put_base(&self, base: Base) -> bool {
        self.writer.try_put_base(base)
    }

    async fn recent_activity(&self, cart: CartId, limit: usize) -> Result<Vec<ActivityEvent>> {
        // Changes and other events number their events together; the
        // latest changes are the latest change events, as both grow in
        // commit order.
        let rows = sqlx::query(&format!(
            "SELECT seq, at, user_id, user_name, kind, text, subtotal, currency FROM (
               SELECT act_seq AS seq, at, user_id, user_name, kind, text, subtotal, currency
               FROM change_log WHERE {CART_KEYS} AND act_seq IS NOT NULL ORDER BY key DESC LIMIT ?2)
             UNION ALL
             SELECT seq, at, user_id, user_name, kind, text, subtotal, currency FROM (
               SELECT seq, at, user_id, user_name, kind, text, subtotal, currency
               FROM activity WHERE cart_id = ?1 ORDER BY seq DESC LIMIT ?2)
             ORDER BY seq DESC LIMIT ?2",
        ))
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

    async fn epochs(&self, cart: CartId) -> Result<Vec<EpochInfo>> {
        let id = cart.to_string();
        // One read transaction: the epochs and the log as of one moment.
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "SELECT epoch, start_seq, base_seq, started_at FROM epochs
             WHERE cart_id = ? ORDER BY epoch",
        )
        .bind(&id)
        .fetch_all(&mut *tx)
        .await?;
        let Some(current) = rows.last() else {
            return Ok(Vec::new());
        };
        let last_change: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT key & 4294967295 FROM change_log WHERE {CART_KEYS} ORDER BY key DESC LIMIT 1"
        ))
        .bind(&id)
        .fetch_optional(&mut *tx)
        .await?;
        // A snapshot of old trimmed the changes it covered.
        let current_last = last_change.unwrap_or_default().max(current.get("base_seq"));
        let starts: Vec<i64> = rows.iter().map(|r| r.get("start_seq")).collect();
        Ok(rows
            .iter()
            .enumerate()
            .map(|(i, r)| EpochInfo {
                epoch: r.get("epoch"),
                base_seq: starts[i],
                started_at: r.get("started_at"),
                last_seq: starts.get(i + 1).copied().unwrap_or(current_last),
            })
            .collect())
    }

    async fn epoch_doc_parts(
        &self,
        cart: CartId,
        epoch: i64,
    ) -> Result<Option<(Vec<u8>, Vec<Vec<u8>>)>> {
        let id = cart.to_string();
        // One read transaction, so that a later epoch starting meanwhile
        // cannot lend this one its changes.
        let mut tx = self.pool.begin().await?;
        let Some(row) = sqlx::query(
            "SELECT e.base_seq, e.bytes, c.num,
                    (SELECT MIN(n.start_seq) FROM epochs n
                     WHERE n.cart_id = e.cart_id AND n.epoch > e.epoch) AS end_seq
             FROM epochs e JOIN carts c ON c.id = e.cart_id
             WHERE e.cart_id = ? AND e.epoch = ?",
        )
        .bind(&id)
        .bind(epoch)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let end: Option<i64> = row.get("end_seq");
        let first_key = row.try_get::<i64, _>("num")? << 32;
        let changes = sqlx::query_scalar(
            "SELECT bytes FROM change_log WHERE key > ? AND key <= ? ORDER BY key",
        )
        .bind(first_key | row.get::<i64, _>("base_seq"))
        .bind(first_key | end.unwrap_or(SEQ_MAX).min(SEQ_MAX))
        .fetch_all(&mut *tx)
        .await?;
        Ok(Some((row.get("bytes"), changes)))
    }
}

/// Starts an epoch: the columns of an `epochs` row, its base's `base_seq`
/// also its `start_seq`, and `started_at` also its `saved_at`.
const INSERT_EPOCH: &str =
    "INSERT INTO epochs (cart_id, epoch, start_seq, base_seq, started_at, saved_at, bytes)
     VALUES (?1, ?2, ?3, ?3, ?4, ?4, ?5)";

/// Writes each change as one row (its op id, activity and the cart's
/// figures in it), the activity events that are not changes, and the cart
/// summaries that changed, on the writer's connection and in its
/// transaction. An edit that leaves the summary alone writes one B-tree,
/// so its commit writes few pages. The database refuses a change that
/// would not load (trigger `change_log_follows`).
pub(super) fn write_records(
    conn: &rusqlite::Connection,
    changes: &[&ChangeRecord],
    activity: &[(CartId, &ActivityEvent)],
) -> Result<()> {
    if !changes.is_empty() {
        // OR FAIL, and the trigger's RAISE(FAIL): a statement that cannot
        // abort half-way needs no statement journal (migration 0014).
        let mut insert = conn.prepare_cached(
            "INSERT OR FAIL INTO change_log (key, epoch, bytes, user_id, op_id, act_seq, at,
               user_name, kind, text, subtotal, currency, line_count)
             VALUES ((SELECT num FROM carts WHERE id = ?1) << 32 | ?2,
               ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?;
        for r in changes {
            let e = &r.activity;
            // A seq out of range gives a NULL key, which the trigger refuses.
            let seq = (1..=SEQ_MAX).contains(&r.seq).then_some(r.seq);
            insert.execute(rusqlite::params![
                r.cart_id.to_string(),
                seq,
                r.epoch,
                r.bytes,
                r.user_id.to_string(),
                r.op_id.0,
                e.seq,
                e.at,
                e.user_name,
                e.kind,
                e.text,
                e.subtotal,
                e.currency,
                r.line_count,
            ])?;
        }
    }
    if !activity.is_empty() {
        let mut insert = conn.prepare_cached(
            "INSERT INTO activity (cart_id, seq, at, user_id, user_name, kind, text, subtotal, currency)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )?;
        for (cart_id, e) in activity {
            insert.execute(rusqlite::params![
                cart_id.to_string(),
                e.seq,
                e.at,
                e.user_id.to_string(),
                e.user_name,
                e.kind,
                e.text,
                e.subtotal,
                e.currency,
            ])?;
        }
    }
    // Only the latest summary of each cart matters.
    let mut summaries: HashMap<CartId, &CartSummary> = HashMap::new();
    for record in changes {
        if let Some(summary) = &record.summary {
            summaries.insert(record.cart_id, summary);
        }
    }
    if !summaries.is_empty() {
        let mut update =
            conn.prepare_cached("UPDATE carts SET name = ?2, lock_deadline = ?3 WHERE id = ?1")?;
        for (cart_id, s) in summaries {
            update.execute(rusqlite::params![
                cart_id.to_string(),
                s.name,
                s.lock_deadline
            ])?;
        }
    }
    Ok(())
}

/// Puts a base, on the writer's connection: the first one, one replacing
/// the current epoch's, or the start of a later epoch (which leaves the
/// previous epoch's base archived).
pub(super) fn put_base(conn: &rusqlite::Connection, base: &Base) -> Result<()> {
    let id = base.cart_id.to_string();
    let current: Option<i64> = conn
        .prepare_cached("SELECT MAX(epoch) FROM epochs WHERE cart_id = ?")?
        .query_row([&id], |row| row.get(0))?;
    match current {
        Some(current) if base.epoch < current => Err(StoreError::StaleBase {
            cart: base.cart_id,
            epoch: base.epoch,
        }),
        Some(current) if base.epoch == current => {
            conn.prepare_cached(
                "UPDATE epochs SET base_seq = ?, saved_at = ?, bytes = ? WHERE cart_id = ? AND epoch = ?",
            )?
            .execute(rusqlite::params![base.base_seq, base.at, base.bytes, id, base.epoch])?;
            Ok(())
        }
        _ => {
            conn.prepare_cached(INSERT_EPOCH)?
                .execute(rusqlite::params![
                    id,
                    base.epoch,
                    base.base_seq,
                    base.at,
                    base.bytes
                ])?;
            Ok(())
        }
    }
}

/// Starts a new cart's first epoch, in the transaction that creates it.
pub(super) async fn insert_first_base(conn: &mut SqliteConnection, base: &Base) -> Result<()> {
    sqlx::query(INSERT_EPOCH)
        .bind(base.cart_id.to_string())
        .bind(base.epoch)
        .bind(base.base_seq)
        .bind(base.at)
        .bind(base.bytes.as_slice())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A write that needs room on disk and changes nothing that matters.
pub(super) fn probe_write(conn: &rusqlite::Connection) -> Result<()> {
    conn.execute(
        "INSERT INTO writer_probe (id, at) VALUES (1, unixepoch('subsec') * 1000)
         ON CONFLICT (id) DO UPDATE SET at = excluded.at",
        [],
    )?;
    Ok(())
}
