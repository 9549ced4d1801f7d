//! Each cart's change log on Postgres: the same rows as SQLite's (a
//! change's row holds its op id, activity event and the cart's figures),
//! the bases of its epochs, and the activity that is not a change. The
//! writer ([`super::writer`]) commits with the statements at the end.

use std::collections::HashMap;

use async_trait::async_trait;
use cartroom_protocol::{ActivityEvent, CartId, OpId};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

use super::{PgStore, parse_id};
use crate::store::{
    Base, CartState, CartSummary, ChangeLog, ChangeRecord, CommitTicket, EpochInfo, LoadLimits,
    Result, StoreError,
};

/// Rows per multi-row INSERT, well under Postgres's 65,535 binds.
const ROWS_PER_INSERT: usize = 1000;

#[async_trait]
impl ChangeLog for PgStore {
    async fn load_cart(&self, cart: CartId, limits: LoadLimits) -> Result<Option<CartState>> {
        let id = cart.to_string();
        // One snapshot: the base, the changes after it and the op ids agree.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
        let Some(head) = sqlx::query(
            "SELECT e.epoch, e.base_seq, e.bytes, c.store_id
             FROM epochs e JOIN carts c ON c.id = e.cart_id
             WHERE e.cart_id = $1 ORDER BY e.epoch DESC LIMIT 1",
        )
        .bind(&id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let snapshot_seq: i64 = head.get("base_seq");
        let rows = sqlx::query(
            "SELECT seq, bytes FROM changes WHERE cart_id = $1 AND seq > $2 ORDER BY seq",
        )
        .bind(&id)
        .bind(snapshot_seq)
        .fetch_all(&mut *tx)
        .await?;
        let last_seq = rows.last().map_or(snapshot_seq, |r| r.get("seq"));
        let changes = rows.into_iter().map(|r| r.get("bytes")).collect();
        let ops = sqlx::query(
            "SELECT user_id, op_id FROM changes
             WHERE cart_id = $1 AND op_id IS NOT NULL ORDER BY seq DESC LIMIT $2",
        )
        .bind(&id)
        .bind(limits.op_memory as i64)
        .fetch_all(&mut *tx)
        .await?;
        let mut applied_ops = ops
            .iter()
            .map(|r| Ok((parse_id(r.get::<&str, _>("user_id"))?, OpId(r.get("op_id")))))
            .collect::<Result<Vec<_>>>()?;
        applied_ops.reverse();
        let activity = recent_activity(&mut tx, &id, limits.activity_memory).await?;
        let members = sqlx::query(
            "SELECT m.user_id, u.name FROM members m JOIN users u ON u.id = m.user_id
             WHERE m.cart_id = $1",
        )
        .bind(&id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| Ok((parse_id(r.get::<&str, _>("user_id"))?, r.get("name"))))
        .collect::<Result<Vec<_>>>()?;
        tx.commit().await?;
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
        let mut conn = self.pool.acquire().await?;
        recent_activity(&mut conn, &cart.to_string(), limit).await
    }

    async fn epochs(&self, cart: CartId) -> Result<Vec<EpochInfo>> {
        let id = cart.to_string();
        // One snapshot: the epochs and the log as of one moment.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query(
            "SELECT epoch, start_seq, base_seq, started_at FROM epochs
             WHERE cart_id = $1 ORDER BY epoch",
        )
        .bind(&id)
        .fetch_all(&mut *tx)
        .await?;
        let Some(current) = rows.last() else {
            return Ok(Vec::new());
        };
        let last_change: Option<i64> =
            sqlx::query_scalar("SELECT MAX(seq) FROM changes WHERE cart_id = $1")
                .bind(&id)
                .fetch_one(&mut *tx)
                .await?;
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
        // One snapshot, so that a later epoch starting meanwhile cannot
        // lend this one its changes.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
        let Some(row) = sqlx::query(
            "SELECT e.base_seq, e.bytes,
                    (SELECT MIN(n.start_seq) FROM epochs n
                     WHERE n.cart_id = e.cart_id AND n.epoch > e.epoch) AS end_seq
             FROM epochs e WHERE e.cart_id = $1 AND e.epoch = $2",
        )
        .bind(&id)
        .bind(epoch)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let end: Option<i64> = row.get("end_seq");
        let changes = sqlx::query_scalar(
            "SELECT bytes FROM changes WHERE cart_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq",
        )
        .bind(&id)
        .bind(row.get::<i64, _>("base_seq"))
        .bind(end.unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await?;
        Ok(Some((row.get("bytes"), changes)))
    }
}

/// The latest `limit` activity events of a cart, oldest first: changes'
/// and others', which number their events together.
async fn recent_activity(
    conn: &mut PgConnection,
    cart_id: &str,
    limit: usize,
) -> Result<Vec<ActivityEvent>> {
    let rows = sqlx::query(
        "SELECT seq, at, user_id, user_name, kind, text, subtotal, currency FROM (
           (SELECT act_seq AS seq, at, user_id, user_name, kind, text, subtotal, currency
            FROM changes WHERE cart_id = $1 AND act_seq IS NOT NULL ORDER BY changes.seq DESC LIMIT $2)
           UNION ALL
           (SELECT seq, at, user_id, user_name, kind, text, subtotal, currency
            FROM activity WHERE cart_id = $1 ORDER BY seq DESC LIMIT $2)
         ) a ORDER BY seq DESC LIMIT $2",
    )
    .bind(cart_id)
    .bind(limit as i64)
    .fetch_all(&mut *conn)
    .await?;
    let mut events = rows
        .iter()
        .map(activity_from_row)
        .collect::<Result<Vec<_>>>()?;
    events.reverse();
    Ok(events)
}

fn activity_from_row(r: &PgRow) -> Result<ActivityEvent> {
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
}

/// Writes each change as one row (its op id, activity and the cart's
/// figures in it), then the activity events that are not changes, then the
/// cart summaries that changed: one multi-row statement each. The database
/// refuses a change that would not load (trigger `changes_follow_the_log`).
pub(super) async fn write_records(
    conn: &mut PgConnection,
    changes: &[&ChangeRecord],
    activity: &[(CartId, &ActivityEvent)],
) -> Result<()> {
    for chunk in changes.chunks(ROWS_PER_INSERT) {
        QueryBuilder::<Postgres>::new(
            "INSERT INTO changes (cart_id, seq, epoch, bytes, user_id, op_id, act_seq, at, \
             user_name, kind, text, subtotal, currency, line_count) ",
        )
        .push_values(chunk, |mut row, r| {
            let e = &r.activity;
            row.push_bind(r.cart_id.to_string())
                .push_bind(r.seq)
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
        .build()
        .execute(&mut *conn)
        .await?;
    }
    for chunk in activity.chunks(ROWS_PER_INSERT) {
        QueryBuilder::<Postgres>::new(
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
    let mut summaries: HashMap<CartId, &CartSummary> = HashMap::new();
    for record in changes {
        if let Some(summary) = &record.summary {
            summaries.insert(record.cart_id, summary);
        }
    }
    let summaries: Vec<(CartId, &CartSummary)> = summaries.into_iter().collect();
    for chunk in summaries.chunks(ROWS_PER_INSERT) {
        QueryBuilder::<Postgres>::new(
            "UPDATE carts SET name = v.name, lock_deadline = v.lock_deadline FROM (",
        )
        .push_values(chunk, |mut row, (cart_id, s)| {
            row.push_bind(cart_id.to_string())
                .push_bind(s.name.as_str())
                .push_bind(s.lock_deadline);
        })
        .push(") AS v (id, name, lock_deadline) WHERE carts.id = v.id")
        .build()
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Puts a base: the first one, one replacing the current epoch's, or the
/// start of a later epoch (which leaves the previous epoch's base archived).
pub(super) async fn put_base(conn: &mut PgConnection, base: &Base) -> Result<()> {
    let id = base.cart_id.to_string();
    let current: Option<i64> =
        sqlx::query_scalar("SELECT MAX(epoch) FROM epochs WHERE cart_id = $1")
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
                "UPDATE epochs SET base_seq = $1, saved_at = $2, bytes = $3
                 WHERE cart_id = $4 AND epoch = $5",
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
                 VALUES ($1, $2, $3, $3, $4, $4, $5)",
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
