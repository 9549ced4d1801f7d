//! Cart leases in Postgres (see [`crate::store::leases`]). Times are the
//! database's clock (`now()`), so that no node's clock decides who owns a
//! cart.

use std::time::Duration;

use async_trait::async_trait;
use cartroom_protocol::CartId;
use sqlx::{PgConnection, Row};

use super::PgStore;
use crate::store::Result;
use crate::store::leases::{Acquired, Leases};

/// Foreign key violation: the cart does not exist.
const FOREIGN_KEY_VIOLATION: &str = "23503";

#[async_trait]
impl Leases for PgStore {
    async fn acquire(&self, cart: CartId, node: &str, ttl: Duration) -> Result<Acquired> {
        let id = cart.to_string();
        // Free, lapsed or ours: take it with the next term. Held by another
        // node: the conflict's WHERE leaves it alone and nothing returns.
        let taken = sqlx::query_scalar::<_, i64>(
            "INSERT INTO cart_leases (cart_id, node, term, acquired_at, expires_at)
             VALUES ($1, $2, 1, now(), now() + $3 * interval '1 millisecond')
             ON CONFLICT (cart_id) DO UPDATE
             SET node = excluded.node, term = cart_leases.term + 1,
                 acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
             WHERE cart_leases.expires_at <= now() OR cart_leases.node = excluded.node
             RETURNING term",
        )
        .bind(&id)
        .bind(node)
        .bind(ttl.as_millis() as i64)
        .fetch_optional(&self.pool)
        .await;
        match taken {
            Ok(Some(term)) => Ok(Acquired::Held { term }),
            Ok(None) => match self.owner(cart).await? {
                Some(node) => Ok(Acquired::Elsewhere { node }),
                // It lapsed between the two statements: ask again.
                None => Box::pin(self.acquire(cart, node, ttl)).await,
            },
            Err(e)
                if e.as_database_error()
                    .and_then(|d| d.code())
                    .is_some_and(|c| c == FOREIGN_KEY_VIOLATION) =>
            {
                Ok(Acquired::NoCart)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn renew(
        &self,
        node: &str,
        held: &[(CartId, i64)],
        ttl: Duration,
    ) -> Result<Vec<CartId>> {
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let (carts, terms): (Vec<String>, Vec<i64>) =
            held.iter().map(|(c, t)| (c.to_string(), *t)).unzip();
        // A lapsed lease nobody took is still ours to renew: its term did
        // not move, so nobody else wrote the cart meanwhile. Rows are
        // locked in cart order, as the writer's fence locks them: in any
        // other order the two deadlock (and Postgres says so only after
        // its `deadlock_timeout`, a second of stalled commits).
        let renewed: Vec<String> = sqlx::query_scalar(
            "WITH held AS (
               SELECT l.cart_id FROM cart_leases l
               JOIN UNNEST($2::TEXT[], $3::BIGINT[]) AS h (cart_id, term)
                 ON l.cart_id = h.cart_id AND l.term = h.term
               WHERE l.node = $1
               ORDER BY l.cart_id
               FOR UPDATE OF l
             )
             UPDATE cart_leases l SET expires_at = now() + $4 * interval '1 millisecond'
             FROM held WHERE l.cart_id = held.cart_id
             RETURNING l.cart_id",
        )
        .bind(node)
        .bind(&carts)
        .bind(&terms)
        .bind(ttl.as_millis() as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(held
            .iter()
            .filter(|(c, _)| !renewed.contains(&c.to_string()))
            .map(|(c, _)| *c)
            .collect())
    }

    async fn release(&self, cart: CartId, node: &str, term: i64) -> Result<()> {
        // Lapsed, not deleted: the row keeps the term, so the next owner's
        // is higher than every term any room of the cart had.
        sqlx::query(
            "UPDATE cart_leases SET expires_at = now()
             WHERE cart_id = $1 AND node = $2 AND term = $3 AND expires_at > now()",
        )
        .bind(cart.to_string())
        .bind(node)
        .bind(term)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn owner(&self, cart: CartId) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT node FROM cart_leases WHERE cart_id = $1 AND expires_at > now()",
        )
        .bind(cart.to_string())
        .fetch_optional(&self.pool)
        .await?)
    }
}

/// The (cart, term) pairs among `wanted` whose leases `node` holds,
/// unexpired, locked until the caller's transaction ends: a node taking
/// one over waits for that commit, then loads what it wrote.
pub(super) async fn fence(
    conn: &mut PgConnection,
    node: &str,
    wanted: &[(CartId, i64)],
) -> Result<Vec<(CartId, i64)>> {
    let (carts, terms): (Vec<String>, Vec<i64>) =
        wanted.iter().map(|(c, t)| (c.to_string(), *t)).unzip();
    let rows = sqlx::query(
        "SELECT l.cart_id, l.term FROM cart_leases l
         JOIN UNNEST($2::TEXT[], $3::BIGINT[]) AS w (cart_id, term)
           ON l.cart_id = w.cart_id AND l.term = w.term
         WHERE l.node = $1 AND l.expires_at > now()
         ORDER BY l.cart_id
         FOR SHARE OF l",
    )
    .bind(node)
    .bind(&carts)
    .bind(&terms)
    .fetch_all(&mut *conn)
    .await?;
    Ok(wanted
        .iter()
        .filter(|(c, t)| {
            rows.iter().any(|r| {
                r.get::<&str, _>("cart_id") == c.to_string() && r.get::<i64, _>("term") == *t
            })
        })
        .copied()
        .collect())
}
