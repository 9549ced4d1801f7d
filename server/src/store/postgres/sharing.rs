//! Invitations and share links (password resets are in [`super::resets`]).
//! Each write that causes an e-mail queues it in the same transaction
//! ([`queue_mail`]); joining checks the token, changes the membership and
//! counts the use in one transaction, so two joins with one single-use
//! link cannot both pass the check.
//!
//! Postgres differs from SQLite in how that transaction is kept whole:
//! SQLite's `BEGIN IMMEDIATE` let one writer in at a time; here (READ
//! COMMITTED, several nodes) each decision first locks the row it decides
//! on (the invitation's or the link's, `FOR UPDATE`, see [`rows`]) and
//! reads it after the lock is granted, and [`join`] locks the cart's row
//! for the member limit. A resend or a revoke locks the invitation too, so
//! that two resends at once leave one e-mail queued, not two.

mod rows;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use cartroom_protocol::sharing::{InvitationId, LinkId};
use cartroom_protocol::{CartId, UserId};

use self::rows::{
    INVITATION, LINK, invitation_from_row, link_from_row, locked_invitation, locked_link,
    refuse_unless_open,
};
use super::join::{join, role_in};
use super::outbox::{cancel_unsent, queue_mail};
use super::{PgStore, webhooks};
use crate::store::Result;
use crate::store::sharing::{
    InvitationRecord, JoinError, Joined, LinkRecord, MailPurpose, NewInvitation, NewLink, NewMail,
    Sharing,
};

#[async_trait]
impl Sharing for PgStore {
    async fn cart_name(&self, cart: CartId) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT name FROM carts WHERE id = $1")
            .bind(cart.to_string())
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn create_invitation(&self, inv: &NewInvitation, mail: &NewMail) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO invitations (id, cart_id, email, message, role, invited_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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
            "{INVITATION} WHERE i.cart_id = $1 ORDER BY i.created_at DESC, i.id"
        ))
        .bind(cart.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(invitation_from_row).collect()
    }

    async fn invitation(&self, cart: CartId, id: InvitationId) -> Result<Option<InvitationRecord>> {
        let row = sqlx::query(&format!("{INVITATION} WHERE i.cart_id = $1 AND i.id = $2"))
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
        let mut tx = self.pool.begin().await?;
        // Locked: a second resend at once waits, then cancels this one's
        // e-mail (which it could not see uncommitted) before queueing its own.
        let found: Option<String> = sqlx::query_scalar(
            "SELECT id FROM invitations WHERE cart_id = $1 AND id = $2 FOR UPDATE",
        )
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
        let mut tx = self.pool.begin().await?;
        // The update locks the row, so a resend at once comes before or after.
        let updated = sqlx::query(
            "UPDATE invitations SET revoked_at = COALESCE(revoked_at, $1) WHERE cart_id = $2 AND id = $3",
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
        let row = sqlx::query(&format!("{INVITATION} WHERE i.token_hash = $1"))
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
        let mut tx = self.pool.begin().await?;
        let inv = locked_invitation(&mut tx, token_hash).await?;
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
        sqlx::query("UPDATE invitations SET accepted_by = $1, accepted_at = $2 WHERE id = $3")
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
        tx.commit().await?;
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
        let mut tx = self.pool.begin().await?;
        let mut inv = locked_invitation(&mut tx, token_hash).await?;
        if inv.declined_at.is_some() && inv.revoked_at.is_none() {
            return Ok(inv);
        }
        refuse_unless_open(&inv, now_ms)?;
        sqlx::query("UPDATE invitations SET declined_at = $1 WHERE id = $2")
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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
            "{LINK} WHERE l.cart_id = $1 ORDER BY l.created_at DESC, l.id"
        ))
        .bind(cart.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(link_from_row).collect()
    }

    async fn link(&self, cart: CartId, id: LinkId) -> Result<Option<LinkRecord>> {
        let row = sqlx::query(&format!("{LINK} WHERE l.cart_id = $1 AND l.id = $2"))
            .bind(cart.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(link_from_row).transpose()
    }

    async fn revoke_link(&self, cart: CartId, id: LinkId, now_ms: i64) -> Result<bool> {
        let updated = sqlx::query(
            "UPDATE share_links SET revoked_at = COALESCE(revoked_at, $1) WHERE cart_id = $2 AND id = $3",
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
        let row = sqlx::query(&format!("{LINK} WHERE l.token_hash = $1"))
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
        let mut tx = self.pool.begin().await?;
        // Locked until commit: the checks below and the count of the use
        // are one step for every node (see `locked_link`).
        let link = locked_link(&mut tx, token_hash).await?;
        let cart = link.cart.to_string();
        let user_s = user.to_string();
        let link_id = link.id.to_string();
        let inviter = (link.created_by, link.created_by_name.clone());
        let used: Option<i64> = sqlx::query_scalar(
            "SELECT at FROM share_link_uses WHERE link_id = $1 AND user_id = $2",
        )
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
        sqlx::query("INSERT INTO share_link_uses (link_id, user_id, at) VALUES ($1, $2, $3)")
            .bind(&link_id)
            .bind(&user_s)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE share_links SET uses = uses + 1 WHERE id = $1")
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
        tx.commit().await?;
        Ok(Joined {
            cart: link.cart,
            role,
            previous,
            already_member: false,
            inviter,
        })
    }
}
