//! Invitations and share links (password resets are in [`super::resets`]).
//! Each write that causes an
//! e-mail queues it in the same transaction ([`queue_mail`]); joining checks
//! the token, changes the membership and counts the use in one `BEGIN
//! IMMEDIATE` transaction, so two joins with one single-use link cannot
//! both pass the check.

use async_trait::async_trait;
use cartroom_protocol::sharing::{InvitationId, LinkId};
use cartroom_protocol::{CartId, UserId};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::join::{join, role_in};
use super::outbox::{cancel_unsent, delivery_from_row, queue_mail};
use super::{SqliteStore, parse_id, parse_role, webhooks};
use crate::store::Result;
use crate::store::sharing::{
    InvitationRecord, JoinError, Joined, LinkRecord, MailPurpose, NewInvitation, NewLink, NewMail,
    Sharing,
};

/// An invitation with its inviter's and acceptor's names and its latest e-mail.
const INVITATION: &str = "
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

const LINK: &str = "
    SELECT l.id, l.cart_id, l.role, l.created_by, u.name AS created_by_name, l.created_at,
           l.expires_at, l.max_uses, l.uses, l.revoked_at
    FROM share_links l JOIN users u ON u.id = l.created_by";

fn invitation_from_row(row: &SqliteRow) -> Result<InvitationRecord> {
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

fn link_from_row(row: &SqliteRow) -> Result<LinkRecord> {
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

#[async_trait]
impl Sharing for SqliteStore {
    async fn cart_name(&self, cart: CartId) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT name FROM carts WHERE id = ?")
            .bind(cart.to_string())
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn create_invitation(&self, inv: &NewInvitation, mail: &NewMail) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO invitations (id, cart_id, email, message, role, invited_by, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(inv.id.to_string())
        .bind(inv.cart.to_string())
        .bind(&inv.email)
        .bind(&inv.message)
        .bind(inv.role.as_str())
        .bind(inv.invited_by.to_string())
        .bind(inv.now_ms)
        .bind(inv.expires_at)
        .execute(&mut *tx)
        .await?;
        queue_mail(&mut tx, mail).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn invitations(&self, cart: CartId) -> Result<Vec<InvitationRecord>> {
        let rows = sqlx::query(&format!(
            "{INVITATION} WHERE i.cart_id = ? ORDER BY i.created_at DESC, i.id"
        ))
        .bind(cart.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(invitation_from_row).collect()
    }

    async fn invitation(&self, cart: CartId, id: InvitationId) -> Result<Option<InvitationRecord>> {
        let row = sqlx::query(&format!("{INVITATION} WHERE i.cart_id = ? AND i.id = ?"))
            .bind(cart.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(invitation_from_row).transpose()
    }

    async fn requeue_invitation(
        &self,
        cart: CartId,
        id: InvitationId,
        mail: &NewMail,
    ) -> Result<bool> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let found: Option<String> =
            sqlx::query_scalar("SELECT id FROM invitations WHERE cart_id = ? AND id = ?")
                .bind(cart.to_string())
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        if found.is_none() {
            return Ok(false);
        }
        cancel_unsent(&mut tx, MailPurpose::Invitation, &mail.ref_id).await?;
        queue_mail(&mut tx, mail).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn revoke_invitation(&self, cart: CartId, id: InvitationId, now_ms: i64) -> Result<bool> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let updated = sqlx::query(
            "UPDATE invitations SET revoked_at = COALESCE(revoked_at, ?) WHERE cart_id = ? AND id = ?",
        )
        .bind(now_ms)
        .bind(cart.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        cancel_unsent(&mut tx, MailPurpose::Invitation, &id.to_string()).await?;
        tx.commit().await?;
        Ok(updated == 1)
    }

    async fn invitation_by_token(&self, token_hash: &str) -> Result<Option<InvitationRecord>> {
        let row = sqlx::query(&format!("{INVITATION} WHERE i.token_hash = ?"))
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(invitation_from_row).transpose()
    }

    async fn accept_invitation(
        &self,
        token_hash: &str,
        user: UserId,
        now_ms: i64,
        max_members: usize,
    ) -> Result<Joined, JoinError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query(&format!("{INVITATION} WHERE i.token_hash = ?"))
            .bind(token_hash)
            .fetch_optional(&mut *tx)
            .await?;
        let inv = row
            .as_ref()
            .map(invitation_from_row)
            .transpose()?
            .ok_or(JoinError::NotFound)?;
        let cart = inv.cart.to_string();
        let user_s = user.to_string();
        let inviter = (inv.invited_by, inv.invited_by_name.clone());
        if inv.accepted_by.as_ref().is_some_and(|(u, _)| *u == user) {
            // The same person again: nothing to do while they are a member.
            let role = role_in(&mut tx, &cart, &user_s)
                .await?
                .ok_or(JoinError::UsedUp)?;
            return Ok(Joined {
                cart: inv.cart,
                role,
                previous: Some(role),
                already_member: true,
                inviter,
            });
        }
        refuse_unless_open(&inv, now_ms)?;
        let (previous, role) = join(&mut tx, &cart, &user_s, inv.role, now_ms, max_members).await?;
        sqlx::query("UPDATE invitations SET accepted_by = ?, accepted_at = ? WHERE id = ?")
            .bind(&user_s)
            .bind(now_ms)
            .bind(inv.id.to_string())
            .execute(&mut *tx)
            .await?;
        // The `share.accepted` webhook commits with the membership.
        let accepted = webhooks::Accepted {
            cart: inv.cart,
            via: "invitation",
            share_id: &inv.id.to_string(),
            user,
            role,
            invited_by: inv.invited_by,
            now_ms,
        };
        webhooks::share_accepted(&mut tx, accepted).await?;
        self.commit_with_events(tx).await?;
        Ok(Joined {
            cart: inv.cart,
            role,
            already_member: previous.is_some_and(|had| had >= inv.role),
            previous,
            inviter,
        })
    }

    async fn decline_invitation(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<InvitationRecord, JoinError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query(&format!("{INVITATION} WHERE i.token_hash = ?"))
            .bind(token_hash)
            .fetch_optional(&mut *tx)
            .await?;
        let mut inv = row
            .as_ref()
            .map(invitation_from_row)
            .transpose()?
            .ok_or(JoinError::NotFound)?;
        if inv.declined_at.is_some() && inv.revoked_at.is_none() {
            return Ok(inv);
        }
        refuse_unless_open(&inv, now_ms)?;
        sqlx::query("UPDATE invitations SET declined_at = ? WHERE id = ?")
            .bind(now_ms)
            .bind(inv.id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        inv.declined_at = Some(now_ms);
        Ok(inv)
    }

    async fn create_link(&self, link: &NewLink) -> Result<()> {
        sqlx::query(
            "INSERT INTO share_links (id, cart_id, role, created_by, created_at, expires_at, token_hash, max_uses)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(link.id.to_string())
        .bind(link.cart.to_string())
        .bind(link.role.as_str())
        .bind(link.created_by.to_string())
        .bind(link.now_ms)
        .bind(link.expires_at)
        .bind(&link.token_hash)
        .bind(link.max_uses.map(i64::from))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn links(&self, cart: CartId) -> Result<Vec<LinkRecord>> {
        let rows = sqlx::query(&format!(
            "{LINK} WHERE l.cart_id = ? ORDER BY l.created_at DESC, l.id"
        ))
        .bind(cart.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(link_from_row).collect()
    }

    async fn link(&self, cart: CartId, id: LinkId) -> Result<Option<LinkRecord>> {
        let row = sqlx::query(&format!("{LINK} WHERE l.cart_id = ? AND l.id = ?"))
            .bind(cart.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(link_from_row).transpose()
    }

    async fn revoke_link(&self, cart: CartId, id: LinkId, now_ms: i64) -> Result<bool> {
        let updated = sqlx::query(
            "UPDATE share_links SET revoked_at = COALESCE(revoked_at, ?) WHERE cart_id = ? AND id = ?",
        )
        .bind(now_ms)
        .bind(cart.to_string())
        .bind(id.to_string())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(updated == 1)
    }

    async fn link_by_token(&self, token_hash: &str) -> Result<Option<LinkRecord>> {
        let row = sqlx::query(&format!("{LINK} WHERE l.token_hash = ?"))
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(link_from_row).transpose()
    }

    async fn accept_link(
        &self,
        token_hash: &str,
        user: UserId,
        now_ms: i64,
        max_members: usize,
    ) -> Result<Joined, JoinError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query(&format!("{LINK} WHERE l.token_hash = ?"))
            .bind(token_hash)
            .fetch_optional(&mut *tx)
            .await?;
        let link = row
            .as_ref()
            .map(link_from_row)
            .transpose()?
            .ok_or(JoinError::NotFound)?;
        let cart = link.cart.to_string();
        let user_s = user.to_string();
        let link_id = link.id.to_string();
        let inviter = (link.created_by, link.created_by_name.clone());
        let used: Option<i64> =
            sqlx::query_scalar("SELECT at FROM share_link_uses WHERE link_id = ? AND user_id = ?")
                .bind(&link_id)
                .bind(&user_s)
                .fetch_optional(&mut *tx)
                .await?;
        let current = role_in(&mut tx, &cart, &user_s).await?;
        if used.is_some() {
            // Joined with it before: the same answer while still a member;
            // a member removed since does not come back with it.
            let role = current.ok_or(JoinError::UsedUp)?;
            return Ok(Joined {
                cart: link.cart,
                role,
                previous: Some(role),
                already_member: true,
                inviter,
            });
        }
        if link.revoked_at.is_some() {
            return Err(JoinError::Revoked);
        }
        if now_ms >= link.expires_at {
            return Err(JoinError::Expired);
        }
        if let Some(had) = current.filter(|had| *had >= link.role) {
            // Already a member with at least this role: no use is taken.
            return Ok(Joined {
                cart: link.cart,
                role: had,
                previous: Some(had),
                already_member: true,
                inviter,
            });
        }
        if link.max_uses.is_some_and(|max| link.uses >= max) {
            return Err(JoinError::UsedUp);
        }
        let (previous, role) =
            join(&mut tx, &cart, &user_s, link.role, now_ms, max_members).await?;
        sqlx::query("INSERT INTO share_link_uses (link_id, user_id, at) VALUES (?, ?, ?)")
            .bind(&link_id)
            .bind(&user_s)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE share_links SET uses = uses + 1 WHERE id = ?")
            .bind(&link_id)
            .execute(&mut *tx)
            .await?;
        // The `share.accepted` webhook commits with the membership.
        let accepted = webhooks::Accepted {
            cart: link.cart,
            via: "link",
            share_id: &link_id,
            user,
            role,
            invited_by: link.created_by,
            now_ms,
        };
        webhooks::share_accepted(&mut tx, accepted).await?;
        self.commit_with_events(tx).await?;
        Ok(Joined {
            cart: link.cart,
            role,
            previous,
            already_member: false,
            inviter,
        })
    }
}

/// Refuses an invitation that is revoked, answered or expired, in that order.
fn refuse_unless_open(inv: &InvitationRecord, now_ms: i64) -> Result<(), JoinError> {
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
