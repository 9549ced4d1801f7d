//! Joining a cart with a token (an invitation, a share link, an offer):
//! the membership change inside the caller's transaction, which never
//! lowers a role and keeps the member limit.
//!
//! Postgres differs from SQLite here: SQLite's `BEGIN IMMEDIATE` made the
//! count of members and the insert one step; on Postgres (READ COMMITTED,
//! several nodes) two joins of one cart could both count `max - 1` and both
//! insert. [`join`] therefore first locks the cart's row (`FOR NO KEY
//! UPDATE`: it serialises joins of one cart, yet does not block the
//! foreign-key checks of rows inserted for that cart, such as changes), and
//! then reads the member's row `FOR UPDATE`.

use cartroom_protocol::MemberRole;
use sqlx::PgConnection;

use super::parse_role;
use crate::store::Result;
use crate::store::sharing::JoinError;

#[cfg(test)]
pub(super) mod testing;

/// Makes `user` a member of `cart` with at least `role`, inside the
/// caller's transaction: (role before, role now). The members table's rules
/// hold: at most `max_members`, and no role is lowered (so no admin is lost).
/// A cart that does not exist fails on the members' foreign key, as on
/// SQLite.
pub(super) async fn join(
    conn: &mut PgConnection,
    cart: &str,
    user: &str,
    role: MemberRole,
    now_ms: i64,
    max_members: usize,
) -> Result<(Option<MemberRole>, MemberRole), JoinError> {
    // Serialises the joins of this cart (see the module's comment).
    sqlx::query("SELECT id FROM carts WHERE id = $1 FOR NO KEY UPDATE")
        .bind(cart)
        .execute(&mut *conn)
        .await?;
    let current: Option<String> = sqlx::query_scalar(
        "SELECT role FROM members WHERE cart_id = $1 AND user_id = $2 FOR UPDATE",
    )
    .bind(cart)
    .bind(user)
    .fetch_optional(&mut *conn)
    .await?;
    let current = current.as_deref().map(parse_role).transpose()?;
    match current {
        None => {
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE cart_id = $1")
                .bind(cart)
                .fetch_one(&mut *conn)
                .await?;
            if count as usize >= max_members {
                return Err(JoinError::TooMany(max_members));
            }
            sqlx::query(
                "INSERT INTO members (cart_id, user_id, role, added_at) VALUES ($1, $2, $3, $4)",
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
            sqlx::query("UPDATE members SET role = $1 WHERE cart_id = $2 AND user_id = $3")
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

/// The user's role in the cart, as the caller's transaction sees it.
pub(super) async fn role_in(
    conn: &mut PgConnection,
    cart: &str,
    user: &str,
) -> Result<Option<MemberRole>> {
    let role: Option<String> =
        sqlx::query_scalar("SELECT role FROM members WHERE cart_id = $1 AND user_id = $2")
            .bind(cart)
            .bind(user)
            .fetch_optional(conn)
            .await?;
    role.as_deref().map(parse_role).transpose()
}
