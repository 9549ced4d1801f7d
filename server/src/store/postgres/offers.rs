//! Offers: carts the store's staff sent to customers. Writing one queues
//! its e-mail in the same transaction; taking one live joins the cart and
//! marks the offer in one transaction.
//!
//! Postgres differs from SQLite in how taking one live stays one step:
//! SQLite's `BEGIN IMMEDIATE` let one writer in at a time; here the offer's
//! row is locked (`FOR UPDATE`) and read after the lock is granted, so of
//! two customers taking it at once the second finds it taken. A copy is
//! marked by one conditional `UPDATE`, which waits for a live taking of the
//! same offer and then re-checks `accepted_at IS NULL` on what it left.

#[cfg(test)]
mod tests;

use async_trait::async_trait;
use cartroom_protocol::merchant::{OfferId, OfferMode};
use cartroom_protocol::{CartId, MemberRole, UserId};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::join::{join, role_in};
use super::outbox::{delivery_from_row, queue_mail};
use super::{PgStore, parse_id};
use crate::store::offers::{NewOffer, OfferRecord, Offers};
use crate::store::sharing::{JoinError, Joined, NewMail};
use crate::store::{Result, StoreError};

/// An offer with its cart's summary, its sender's and acceptor's names and
/// its latest e-mail.
const OFFER: &str = "
    SELECT f.id, f.cart_id, c.name AS cart_name, cf.line_count, cf.subtotal, f.email, f.message,
           f.sent_by, su.name AS sent_by_name, f.created_at, f.expires_at,
           f.accepted_by, au.name AS accepted_by_name, f.accepted_at, f.accepted_as,
           f.copy_cart_id,
           o.status AS d_status, o.attempts AS d_attempts, o.last_error AS d_error,
           o.next_attempt_at AS d_next, o.sent_at AS d_sent
    FROM offers f
    JOIN carts c ON c.id = f.cart_id
    JOIN cart_figures cf ON cf.cart_id = c.id
    JOIN users su ON su.id = f.sent_by
    LEFT JOIN users au ON au.id = f.accepted_by
    LEFT JOIN outbox o ON o.id =
        (SELECT MAX(id) FROM outbox WHERE purpose = 'offer' AND ref_id = f.id)";

fn parse_mode(s: &str) -> Result<OfferMode> {
    match s {
        "live" => Ok(OfferMode::Live),
        "copy" => Ok(OfferMode::Copy),
        other => Err(StoreError::Corrupt(format!("bad offer mode {other:?}"))),
    }
}

fn offer_from_row(row: &PgRow) -> Result<OfferRecord> {
    let accepted_by = match row.get::<Option<String>, _>("accepted_by") {
        Some(id) => Some((
            parse_id(&id)?,
            row.get::<Option<String>, _>("accepted_by_name")
                .unwrap_or_default(),
        )),
        None => None,
    };
    Ok(OfferRecord {
        id: parse_id(row.get::<&str, _>("id"))?,
        cart: parse_id(row.get::<&str, _>("cart_id"))?,
        cart_name: row.get("cart_name"),
        line_count: row.get("line_count"),
        subtotal: row.get("subtotal"),
        email: row.get("email"),
        message: row.get("message"),
        sent_by: parse_id(row.get::<&str, _>("sent_by"))?,
        sent_by_name: row.get("sent_by_name"),
        created_at: row.get("created_at"),
        expires_at: row.get("expires_at"),
        accepted_by,
        accepted_at: row.get("accepted_at"),
        accepted_as: row
            .get::<Option<&str>, _>("accepted_as")
            .map(parse_mode)
            .transpose()?,
        copy_cart: row
            .get::<Option<&str>, _>("copy_cart_id")
            .map(parse_id)
            .transpose()?,
        delivery: delivery_from_row(row)?,
    })
}

/// The offer with this token, its row locked until the caller's
/// transaction ends, read after the lock is granted.
async fn locked_offer(conn: &mut PgConnection, token_hash: &str) -> Result<OfferRecord, JoinError> {
    let id: Option<String> =
        sqlx::query_scalar("SELECT id FROM offers WHERE token_hash = $1 FOR UPDATE")
            .bind(token_hash)
            .fetch_optional(&mut *conn)
            .await?;
    let id = id.ok_or(JoinError::NotFound)?;
    // A statement of its own: it sees what committed before the lock.
    let row = sqlx::query(&format!("{OFFER} WHERE f.id = $1"))
        .bind(&id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref()
        .map(offer_from_row)
        .transpose()?
        .ok_or(JoinError::NotFound)
}

#[async_trait]
impl Offers for PgStore {
    async fn create_offer(&self, offer: &NewOffer, mail: &NewMail) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO offers (id, cart_id, email, message, sent_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(offer.id.to_string())
        .bind(offer.cart.to_string())
        .bind(&offer.email)
        .bind(&offer.message)
        .bind(offer.sent_by.to_string())
        .bind(offer.now_ms)
        .bind(offer.expires_at)
        .execute(&mut *tx)
        .await?;
        queue_mail(&mut tx, mail).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn offers(&self, cart: CartId) -> Result<Vec<OfferRecord>> {
        let rows = sqlx::query(&format!(
            "{OFFER} WHERE f.cart_id = $1 ORDER BY f.created_at DESC, f.id DESC"
        ))
        .bind(cart.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(offer_from_row).collect()
    }

    async fn offer(&self, cart: CartId, id: OfferId) -> Result<Option<OfferRecord>> {
        let row = sqlx::query(&format!("{OFFER} WHERE f.cart_id = $1 AND f.id = $2"))
            .bind(cart.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(offer_from_row).transpose()
    }

    async fn offer_by_token(&self, token_hash: &str) -> Result<Option<OfferRecord>> {
        let row = sqlx::query(&format!("{OFFER} WHERE f.token_hash = $1"))
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(offer_from_row).transpose()
    }

    async fn accept_offer_live(
        &self,
        token_hash: &str,
        user: UserId,
        now_ms: i64,
        max_members: usize,
    ) -> Result<Joined, JoinError> {
        let mut tx = self.pool.begin().await?;
        let offer = locked_offer(&mut tx, token_hash).await?;
        let cart = offer.cart.to_string();
        let user_s = user.to_string();
        let inviter = (offer.sent_by, offer.sent_by_name.clone());
        let mine = offer.accepted_by.as_ref().is_some_and(|(u, _)| *u == user);
        if mine && offer.accepted_as == Some(OfferMode::Live) {
            // The same person again: nothing to do while they are a member.
            let role = role_in(&mut tx, &cart, &user_s)
                .await?
                .ok_or(JoinError::UsedUp)?;
            return Ok(Joined {
                cart: offer.cart,
                role,
                previous: Some(role),
                already_member: true,
                inviter,
            });
        }
        if let Some(refusal) = offer.refusal(now_ms) {
            return Err(refusal);
        }
        let (previous, role) = join(
            &mut tx,
            &cart,
            &user_s,
            MemberRole::Editor,
            now_ms,
            max_members,
        )
        .await?;
        sqlx::query(
            "UPDATE offers SET accepted_by = $1, accepted_at = $2, accepted_as = 'live' WHERE id = $3",
        )
        .bind(&user_s)
        .bind(now_ms)
        .bind(offer.id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Joined {
            cart: offer.cart,
            role,
            already_member: previous.is_some_and(|had| had >= MemberRole::Editor),
            previous,
            inviter,
        })
    }

    async fn mark_offer_copied(
        &self,
        token_hash: &str,
        user: UserId,
        copy: CartId,
        now_ms: i64,
    ) -> Result<(), JoinError> {
        let updated = sqlx::query(
            "UPDATE offers SET accepted_by = $1, accepted_at = $2, accepted_as = 'copy',
                               copy_cart_id = $3
             WHERE token_hash = $4 AND accepted_at IS NULL AND expires_at > $2",
        )
        .bind(user.to_string())
        .bind(now_ms)
        .bind(copy.to_string())
        .bind(token_hash)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if updated == 1 {
            Ok(())
        } else {
            Err(JoinError::UsedUp)
        }
    }
}
