//! Joining a cart with a token (an invitation, a share link, an offer):
//! the membership change inside the caller's transaction, which never
//! lowers a role and keeps the member limit.

use cartroom_protocol::MemberRole;
use sqlx::SqliteConnection;

use super::parse_role;
use crate::store::Result;
use crate::store::sharing::JoinError;

/// Makes `user` a member of `cart` with at least `role`, inside the
/// caller's transaction: (role before, role now). The members table's rules
/// hold: at most `max_members`, and no role is lowered (so no admin is lost).
pub(super) async fn join(
    conn: &mut SqliteConnection,
    cart: &str,
    user: &str,
    role: MemberRole,
    now_ms: i64,
    max_members: usize,
) -> Result<(Option<MemberRole>, MemberRole), JoinError> {
    let current: Option<String> =
        sqlx::query_scalar("SELECT role FROM members WHERE cart_id = ? AND user_id = ?")
            .bind(cart)
            .bind(user)
            .fetch_optional(&mut *conn)
            .await?;
    let current = current.as_deref().map(parse_role).transpose()?;
    match current {
        None => {
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE cart_id = ?")
                .bind(cart)
                .fetch_one(&mut *conn)
                .await?;
            if count as usize >= max_members {
                return Err(JoinError::TooMany(max_members));
            }
            sqlx::query(
                "INSERT INTO members (cart_id, user_id, role, added_at) VALUES (?, ?, ?, ?)",
            )
            .bind(cart)
            .bind(user)
            .bind(role.as_str())
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
            Ok((None, role))
        }
        Some(had) if had < role => {
            sqlx::query("UPDATE members SET role = ? WHERE cart_id = ? AND user_id = ?")
                .bind(role.as_str())
                .bind(cart)
                .bind(user)
                .execute(&mut *conn)
                .await?;
            Ok((Some(had), role))
        }
        Some(had) => Ok((Some(had), had)),
    }
}

pub(super) async fn role_in(
    conn: &mut SqliteConnection,
    cart: &str,
    user: &str,
) -> Result<Option<MemberRole>> {
    let role: Option<String> =
        sqlx::query_scalar("SELECT role FROM members WHERE cart_id = ? AND user_id = ?")
            .bind(cart)
            .bind(user)
            .fetch_optional(conn)
            .await?;
    role.as_deref().map(parse_role).transpose()
}
