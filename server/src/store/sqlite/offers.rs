//! Offers: carts the store's staff sent to customers. Writing one queues
//! its e-mail in the same transaction; taking one live joins the cart and
//! marks the offer in one `BEGIN IMMEDIATE` transaction.

use async_trait::async_trait;
use cartroom_protocol::merchant::{OfferId, OfferMode};
use cartroom_protocol::{CartId, MemberRole, UserId};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::join::{join, role_in};
use super::outbox::{delivery_from_row, queue_mail};
use super::{SqliteStore, parse_id};
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

fn offer_from_row(row: &SqliteRow) -> Result<OfferRecord> {
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

#[async_trait]
impl Offers for SqliteStore {
    async fn create_offer(&self, offer: &NewOffer, mail: &NewMail) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO offers (id, cart_id, email, message, sent_by, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
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
            "{OFFER} WHERE f.cart_id = ? ORDER BY f.created_at DESC, f.id DESC"
        ))
        .bind(cart.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(offer_from_row).collect()
    }

    async fn offer(&self, cart: CartId, id: OfferId) -> Result<Option<OfferRecord>> {
        let row = sqlx::query(&format!("{OFFER} WHERE f.cart_id = ? AND f.id = ?"))
            .bind(cart.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(offer_from_row).transpose()
    }

    async fn offer_by_token(&self, token_hash: &str) -> Result<Option<OfferRecord>> {
        let row = sqlx::query(&format!("{OFFER} WHERE f.token_hash = ?"))
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query(&format!("{OFFER} WHERE f.token_hash = ?"))
            .bind(token_hash)
            .fetch_optional(&mut *tx)
            .await?;
        let offer = row
            .as_ref()
            .map(offer_from_row)
            .transpose()?
            .ok_or(JoinError::NotFound)?;
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
            "UPDATE offers SET accepted_by = ?, accepted_at = ?, accepted_as = 'live' WHERE id = ?",
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
            "UPDATE offers SET accepted_by = ?, accepted_at = ?, accepted_as = 'copy',
                               copy_cart_id = ?
             WHERE token_hash = ? AND accepted_at IS NULL AND expires_at > ?",
        )
        .bind(user.to_string())
        .bind(now_ms)
        .bind(copy.to_string())
        .bind(token_hash)
        .bind(now_ms)
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
