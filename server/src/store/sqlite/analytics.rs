//! The store owner's analytics in SQL. SQLite knows no time zones, so the
//! queries return the times of what they count within the period (one row
//! per cart created, per invitation, per join, per quarter hour of opens),
//! and each row is put in its local day here, by the day spans the service
//! worked out.

use async_trait::async_trait;
use cartroom_protocol::analytics::{EDIT_KINDS, Figures, LinkFigures};
use cartroom_protocol::ids::LinkId;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, parse_id};
use crate::store::Result;
use crate::store::analytics::{Analytics, DaySpan, PeriodLinks};

/// The store's carts created in the period (`?1` the store, `?2`..`?3`
/// the period, `?4` the edit kinds as a JSON array), each as it is now.
/// Edits count only those of the cart's current members: the store's staff
/// reach carts without being members, and server-originated changes have
/// no member as their author. A change's activity is in its row; the
/// activity table holds the rest, and the activity of changes made before
/// changes carried it.
const CARTS: &str = "SELECT c.created_at AS at,
       (SELECT COUNT(*) FROM members m WHERE m.cart_id = c.id) AS members,
       (SELECT COUNT(DISTINCT a.user_id) FROM (
            SELECT user_id, kind FROM activity WHERE cart_id = c.id
            UNION ALL SELECT user_id, kind FROM change_log
                      WHERE key > c.num << 32 AND key < (c.num + 1) << 32) a
          JOIN members m ON m.cart_id = c.id AND m.user_id = a.user_id
         WHERE a.kind IN (SELECT value FROM json_each(?4))) AS editors,
       (SELECT COUNT(*) FROM (
            SELECT user_id, kind FROM activity WHERE cart_id = c.id
            UNION ALL SELECT user_id, kind FROM change_log
                      WHERE key > c.num << 32 AND key < (c.num + 1) << 32) a
          JOIN members m ON m.cart_id = c.id AND m.user_id = a.user_id
         WHERE a.kind IN (SELECT value FROM json_each(?4))) AS edits,
       (SELECT o.total FROM orders o
         WHERE o.cart_id = c.id AND o.status <> 'cancelled') AS order_total
FROM carts c
WHERE c.store_id = ?1 AND c.created_at >= ?2 AND c.created_at < ?3";

/// Which count of a day's figures an event query adds to.
type Field = fn(&mut Figures) -> &mut i64;

/// Events in the store's carts within the period (`?1` the store, `?2`..`?3`
/// the period): `(at, n)` rows, `n` events at `at`.
const EVENTS: [(Field, &str); 4] = [
    (
        |f| &mut f.invitations_sent,
        "SELECT i.created_at, 1 FROM carts c JOIN invitations i ON i.cart_id = c.id
         WHERE c.store_id = ?1 AND i.created_at >= ?2 AND i.created_at < ?3",
    ),
    (
        |f| &mut f.invitations_accepted,
        "SELECT i.accepted_at, 1 FROM carts c JOIN invitations i ON i.cart_id = c.id
         WHERE c.store_id = ?1 AND i.accepted_at >= ?2 AND i.accepted_at < ?3",
    ),
    (
        |f| &mut f.link_opens,
        "SELECT o.bucket, o.opens FROM carts c
           JOIN share_links l ON l.cart_id = c.id
           JOIN share_link_opens o ON o.link_id = l.id
         WHERE c.store_id = ?1 AND o.bucket >= ?2 AND o.bucket < ?3",
    ),
    (
        |f| &mut f.link_joins,
        "SELECT u.at, 1 FROM carts c
           JOIN share_links l ON l.cart_id = c.id
           JOIN share_link_uses u ON u.link_id = l.id
         WHERE c.store_id = ?1 AND u.at >= ?2 AND u.at < ?3",
    ),
];

/// The quarter hour an open is counted in: every time zone's offset is a
/// multiple of it, so a local day holds whole buckets.
const OPEN_BUCKET_MS: i64 = 15 * 60 * 1000;

fn edit_kinds_json() -> String {
    serde_json::to_string(EDIT_KINDS).unwrap_or_else(|_| "[]".into())
}

/// The whole period of `days` (which follow one another).
fn period_of(days: &[DaySpan]) -> (i64, i64) {
    (
        days.first().map_or(0, |d| d.start_ms),
        days.last().map_or(0, |d| d.end_ms),
    )
}

/// The day of `days` holding `at`.
fn day_of(days: &[DaySpan], at: i64) -> Option<usize> {
    let i = days.partition_point(|d| d.end_ms <= at);
    days.get(i).filter(|d| d.start_ms <= at).map(|_| i)
}

fn link_from_row(row: &SqliteRow) -> Result<LinkFigures> {
    Ok(LinkFigures {
        link_id: parse_id(row.get::<&str, _>("id"))?,
        cart_id: parse_id(row.get::<&str, _>("cart_id"))?,
        cart_name: row.get("name"),
        created_at: row.get("created_at"),
        opens: row.get("opens"),
        joins: row.get("joins"),
        orders: row.get("orders"),
    })
}

#[async_trait]
impl Analytics for SqliteStore {
    async fn day_figures(&self, store: &str, days: &[DaySpan]) -> Result<Vec<Figures>> {
        let mut figures = vec![Figures::default(); days.len()];
        let (start, end) = period_of(days);
        let carts = sqlx::query(CARTS)
            .bind(store)
            .bind(start)
            .bind(end)
            .bind(edit_kinds_json())
            .fetch_all(&self.pool)
            .await?;
        for row in &carts {
            let Some(day) = day_of(days, row.get("at")) else {
                continue;
            };
            let f = &mut figures[day];
            let members: i64 = row.get("members");
            let editors: i64 = row.get("editors");
            let order: Option<i64> = row.get("order_total");
            let shared = members >= 2;
            f.carts += 1;
            f.members += members;
            f.edits += row.get::<i64, _>("edits");
            f.shared_carts += i64::from(shared);
            f.collaborative_carts += i64::from(editors >= 2);
            if let Some(total) = order {
                f.ordered_carts += 1;
                f.order_value += total;
                if shared {
                    f.shared_ordered_carts += 1;
                    f.shared_order_value += total;
                }
            }
        }
        for (field, query) in EVENTS {
            let rows = sqlx::query(query)
                .bind(store)
                .bind(start)
                .bind(end)
                .fetch_all(&self.pool)
                .await?;
            for row in &rows {
                if let Some(day) = day_of(days, row.get(0)) {
                    *field(&mut figures[day]) += row.get::<i64, _>(1);
                }
            }
        }
        Ok(figures)
    }

    async fn period_links(
        &self,
        store: &str,
        period: DaySpan,
        limit: usize,
    ) -> Result<PeriodLinks> {
        // An order counts for a link when it was placed once someone had
        // joined with it (NULL, so no order, while nobody has).
        let rows = sqlx::query(
            "SELECT l.id, l.cart_id, c.name, l.created_at,
                    (SELECT COALESCE(SUM(o.opens), 0) FROM share_link_opens o
                      WHERE o.link_id = l.id) AS opens,
                    (SELECT COUNT(*) FROM share_link_uses u WHERE u.link_id = l.id) AS joins,
                    (SELECT COUNT(*) FROM orders o
                      WHERE o.cart_id = l.cart_id AND o.status <> 'cancelled'
                        AND o.placed_at >= (SELECT MIN(u.at) FROM share_link_uses u
                                             WHERE u.link_id = l.id)) AS orders
             FROM share_links l JOIN carts c ON c.id = l.cart_id
             WHERE c.store_id = ? AND l.created_at >= ? AND l.created_at < ?
             ORDER BY l.created_at DESC, l.id
             LIMIT ?",
        )
        .bind(store)
        .bind(period.start_ms)
        .bind(period.end_ms)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM share_links l JOIN carts c ON c.id = l.cart_id
             WHERE c.store_id = ? AND l.created_at >= ? AND l.created_at < ?",
        )
        .bind(store)
        .bind(period.start_ms)
        .bind(period.end_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(PeriodLinks {
            links: rows.iter().map(link_from_row).collect::<Result<_>>()?,
            total,
        })
    }

    async fn record_link_open(&self, link: LinkId, at_ms: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO share_link_opens (link_id, bucket, opens) VALUES (?, ?, 1)
             ON CONFLICT (link_id, bucket) DO UPDATE SET opens = opens + 1",
        )
        .bind(link.to_string())
        .bind(at_ms - at_ms.rem_euclid(OPEN_BUCKET_MS))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_falls_in_the_day_whose_span_holds_it() {
        // A 23-hour day between two 24-hour ones.
        let days = [
            DaySpan {
                start_ms: 0,
                end_ms: 24,
            },
            DaySpan {
                start_ms: 24,
                end_ms: 47,
            },
            DaySpan {
                start_ms: 47,
                end_ms: 71,
            },
        ];
        let found: Vec<Option<usize>> = [-1, 0, 23, 24, 46, 47, 70, 71]
            .into_iter()
            .map(|at| day_of(&days, at))
            .collect();
        assert_eq!(
            found,
            [
                None,
                Some(0),
                Some(0),
                Some(1),
                Some(1),
                Some(2),
                Some(2),
                None
            ]
        );
        assert_eq!(period_of(&days), (0, 71));
    }
}
