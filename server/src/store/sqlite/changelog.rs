//! Each cart's change log (a change's row also holds its op id, its
//! activity event and the cart's figures after it), the bases of its
//! epochs, and the activity that is not a change: how a room loads, how
//! history reads old epochs, and the SQL the writer commits with. Every
//! statement that writes these tables is here, once.

use std::collections::HashMap;

use async_trait::async_trait;
use cartroom_protocol::{ActivityEvent, CartId, OpId};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::{SqliteStore, parse_id};
use crate::store::{
    Base, CartState, CartSummary, ChangeLog, ChangeRecord, CommitTicket, EpochInfo, LoadLimits,
    Result, StoreError,
};

/// Rows per multi-row INSERT, well under SQLite's bound-variable limit.
const ROWS_PER_INSERT: usize = 100;

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
        self.writer.append(record).await
    }

    async fn append_activity(&self, cart: CartId, term: i64, event: ActivityEvent) -> CommitTicket {
        self.writer.append_activity(cart, term, event).await
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

/// Appends the statements that write each change as one row (its op id,
/// activity and the cart's figures in it), activity events that are not
/// changes, and the cart summaries that changed: multi-row statements, all
/// sent to the connection at once, since the single SQLite connection is
/// the writer's bottleneck and each round trip to its thread is two thread
/// switches. An edit that leaves the summary alone writes one B-tree, so
/// its commit writes few pages. The database refuses a change that would
/// not load (trigger `change_log_follows`).
pub(super) fn push_records<'a>(
    sql: &mut QueryBuilder<'a, Sqlite>,
    changes: &[&'a ChangeRecord],
    activity: &[(CartId, &'a ActivityEvent)],
) {
    for chunk in changes.chunks(ROWS_PER_INSERT) {
        // OR FAIL, and the trigger's RAISE(FAIL): a statement that cannot
        // abort half-way needs no statement journal (migration 0014).
        sql.push(
            "INSERT OR FAIL INTO change_log (key, epoch, bytes, user_id, op_id, act_seq, at, \
             user_name, kind, text, subtotal, currency, line_count) ",
        )
        .push_values(chunk, |mut row, r| {
            let e = &r.activity;
            // A seq out of range gives a NULL key, which the trigger refuses.
            let seq = (1..=SEQ_MAX).contains(&r.seq).then_some(r.seq);
            row.push("(SELECT num FROM carts WHERE id = ")
                .push_bind_unseparated(r.cart_id.to_string())
                .push_unseparated(") << 32 | ")
                .push_bind_unseparated(seq)
                .push_bind(r.epoch)
                .push_bind(r.bytes.as_slice())
                .push_bind(r.user_id.to_string())
                .push_bind(r.op_id.0.as_str())
                .push_bind(e.seq)
                .push_bind(e.at)
                .push_bind(e.user_name.as_str())
                .push_bind(e.kind.as_str())
                .push_bind(e.text.as_str())
                .push_bind(e.subtotal)
                .push_bind(e.currency.as_str())
                .push_bind(r.line_count);
        })
        .push("; ");
    }
    for chunk in activity.chunks(ROWS_PER_INSERT) {
        sql.push(
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
        .push("; ");
    }
    // Only the latest summary of each cart matters.
    let mut summaries: HashMap<CartId, &CartSummary> = HashMap::new();
    for record in changes {
        if let Some(summary) = &record.summary {
            summaries.insert(record.cart_id, summary);
        }
    }
    let summaries: Vec<(CartId, &CartSummary)> = summaries.into_iter().collect();
    for chunk in summaries.chunks(ROWS_PER_INSERT) {
        sql.push("WITH v (id, name, lock_deadline) AS (")
            .push_values(chunk, |mut row, (cart_id, s)| {
                row.push_bind(cart_id.to_string())
                    .push_bind(s.name.as_str())
                    .push_bind(s.lock_deadline);
            })
            .push(
                ") UPDATE carts SET name = v.name, lock_deadline = v.lock_deadline \
                 FROM v WHERE carts.id = v.id; ",
            );
    }
}

/// Puts a base: the first one, one replacing the current epoch's, or the
/// start of a later epoch (which leaves the previous epoch's base archived).
pub(super) async fn put_base(conn: &mut SqliteConnection, base: &Base) -> Result<()> {
    let id = base.cart_id.to_string();
    let current: Option<i64> =
        sqlx::query_scalar("SELECT MAX(epoch) FROM epochs WHERE cart_id = ?")
            .bind(&id)
            .fetch_one(&mut *conn)
            .await?;
    match current {
        Some(current) if base.epoch < current => Err(StoreError::StaleBase {
            cart: base.cart_id,
            epoch: base.epoch,
        }),
        Some(current) if base.epoch == current => {
            sqlx::query(
                "UPDATE epochs SET base_seq = ?, saved_at = ?, bytes = ? WHERE cart_id = ? AND epoch = ?",
            )
            .bind(base.base_seq)
            .bind(base.at)
            .bind(base.bytes.as_slice())
            .bind(&id)
            .bind(base.epoch)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }
        _ => {
            sqlx::query(
                "INSERT INTO epochs (cart_id, epoch, start_seq, base_seq, started_at, saved_at, bytes)
                 VALUES (?1, ?2, ?3, ?3, ?4, ?4, ?5)",
            )
            .bind(&id)
            .bind(base.epoch)
            .bind(base.base_seq)
            .bind(base.at)
            .bind(base.bytes.as_slice())
            .execute(&mut *conn)
            .await?;
            Ok(())
        }
    }
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
