//! Invitations and share links read from their rows, and the locks taken
//! on them before they are decided on.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::super::outbox::delivery_from_row;
use super::super::{parse_id, parse_role};
use crate::store::Result;
use crate::store::sharing::{InvitationRecord, JoinError, LinkRecord};

/// An invitation with its inviter's and acceptor's names and its latest e-mail.
pub(super) const INVITATION: &str = "
    SELECT i.id, i.cart_id, i.email, i.message, i.role, i.invited_by,
           iu.name AS invited_by_name, i.created_at, i.expires_at,
           i.accepted_by, au.name AS accepted_by_name, i.accepted_at, i.declined_at, i.revoked_at,
           o.status AS d_status, o.attempts AS d_attempts, o.last_error AS d_error,
           o.next_attempt_at AS d_next, o.sent_at AS d_sent
    FROM invitations i
    JOIN users iu ON iu.id = i.invited_by
    LEFT JOIN users au ON au.id = i.accepted_by
    LEFT JOIN outbox o ON o.id =
        (SELECT MAX(id) FROM outbox WHERE purpose = 'invitation' AND ref_id = i.id)";

pub(super) const LINK: &str = "
    SELECT l.id, l.cart_id, l.role, l.created_by, u.name AS created_by_name, l.created_at,
           l.expires_at, l.max_uses, l.uses, l.revoked_at
    FROM share_links l JOIN users u ON u.id = l.created_by";

pub(super) fn invitation_from_row(row: &PgRow) -> Result<InvitationRecord> {
    let accepted_by: Option<String> = row.get("accepted_by");
    let accepted_by = match accepted_by {
        Some(id) => Some((
            parse_id(&id)?,
            row.get::<Option<String>, _>("accepted_by_name")
                .unwrap_or_default(),
        )),
        None => None,
    };
    let delivery = delivery_from_row(row)?;
    Ok(InvitationRecord {
        id: parse_id(row.get::<&str, _>("id"))?,
        cart: parse_id(row.get::<&str, _>("cart_id"))?,
        email: row.get("email"),
        message: row.get("message"),
        role: parse_role(row.get("role"))?,
        invited_by: parse_id(row.get::<&str, _>("invited_by"))?,
        invited_by_name: row.get("invited_by_name"),
        created_at: row.get("created_at"),
        expires_at: row.get("expires_at"),
        accepted_by,
        accepted_at: row.get("accepted_at"),
        declined_at: row.get("declined_at"),
        revoked_at: row.get("revoked_at"),
        delivery,
    })
}

pub(super) fn link_from_row(row: &PgRow) -> Result<LinkRecord> {
    Ok(LinkRecord {
        id: parse_id(row.get::<&str, _>("id"))?,
        cart: parse_id(row.get::<&str, _>("cart_id"))?,
        role: parse_role(row.get("role"))?,
        created_by: parse_id(row.get::<&str, _>("created_by"))?,
        created_by_name: row.get("created_by_name"),
        created_at: row.get("created_at"),
        expires_at: row.get("expires_at"),
        max_uses: row.get::<Option<i64>, _>("max_uses").map(|n| n as u32),
        uses: row.get::<i64, _>("uses") as u32,
        revoked_at: row.get("revoked_at"),
    })
}

/// The invitation with this token, its row locked until the caller's
/// transaction ends (`FOR UPDATE`), read after the lock is held: of two
/// answers to one invitation at once, the second waits and sees the
/// first's. SQLite's `BEGIN IMMEDIATE` serialised them instead.
pub(super) async fn locked_invitation(
    conn: &mut PgConnection,
    token_hash: &str,
) -> Result<InvitationRecord, JoinError> {
    let id: Option<String> =
        sqlx::query_scalar("SELECT id FROM invitations WHERE token_hash = $1 FOR UPDATE")
            .bind(token_hash)
            .fetch_optional(&mut *conn)
            .await?;
    let id = id.ok_or(JoinError::NotFound)?;
    // A statement of its own: under READ COMMITTED it sees what committed
    // before the lock was granted.
    let row = sqlx::query(&format!("{INVITATION} WHERE i.id = $1"))
        .bind(&id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref()
        .map(invitation_from_row)
        .transpose()?
        .ok_or(JoinError::NotFound)
}

/// The link with this token, locked as [`locked_invitation`] locks an
/// invitation: joins with one link take turns, so its use count and
/// `max_uses` hold however many nodes open it at once.
pub(super) async fn locked_link(
    conn: &mut PgConnection,
    token_hash: &str,
) -> Result<LinkRecord, JoinError> {
    let id: Option<String> =
        sqlx::query_scalar("SELECT id FROM share_links WHERE token_hash = $1 FOR UPDATE")
            .bind(token_hash)
            .fetch_optional(&mut *conn)
            .await?;
    let id = id.ok_or(JoinError::NotFound)?;
    let row = sqlx::query(&format!("{LINK} WHERE l.id = $1"))
        .bind(&id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref()
        .map(link_from_row)
        .transpose()?
        .ok_or(JoinError::NotFound)
}

/// Refuses an invitation that is revoked, answered or expired, in that order.
pub(super) fn refuse_unless_open(inv: &InvitationRecord, now_ms: i64) -> Result<(), JoinError> {
    if inv.revoked_at.is_some() {
        return Err(JoinError::Revoked);
    }
    if inv.accepted_by.is_some() || inv.accepted_at.is_some() || inv.declined_at.is_some() {
        return Err(JoinError::UsedUp);
    }
    if now_ms >= inv.expires_at {
        return Err(JoinError::Expired);
    }
    Ok(())
}
