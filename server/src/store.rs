//! Durable state in SQLite (WAL): accounts, sessions, catalog, carts,
//! members, and each cart's change log, snapshots and activity.
//!
//! Reads go through the pool; every write of the change log goes through the
//! group-commit writer (`writer.rs`) so that many edits share one fsync.

use std::str::FromStr;
use std::time::Duration;

use cartroom_protocol::{ActivityEvent, CartId, MemberRole, UserId};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use crate::catalog::{Catalog, DEMO_PRODUCTS, DEMO_STORE, GroupBuy, Product, StoreInfo};
use crate::config::Config;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("creating the data folder: {0}")]
    Io(#[from] std::io::Error),
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Connection options for the database file under `data_dir`.
pub fn connect_options(config: &Config) -> SqliteConnectOptions {
    let synchronous = if config.sqlite_sync == "normal" {
        SqliteSynchronous::Normal
    } else {
        SqliteSynchronous::Full
    };
    SqliteConnectOptions::new()
        .filename(config.data_dir.join("cartroom.sqlite3"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
}

/// Opens (creating and migrating) the database and seeds the demo store.
pub async fn open(config: &Config) -> Result<SqlitePool> {
    std::fs::create_dir_all(&config.data_dir)?;
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(connect_options(config))
        .await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    if !config.no_seed {
        seed_demo_store(&pool).await?;
    }
    Ok(pool)
}

async fn seed_demo_store(pool: &SqlitePool) -> Result<()> {
    let (id, name, currency) = DEMO_STORE;
    let mut tx = pool.begin().await?;
    let inserted =
        sqlx::query("INSERT OR IGNORE INTO stores (id, name, currency) VALUES (?, ?, ?)")
            .bind(id)
            .bind(name)
            .bind(currency)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if inserted == 1 {
        for (position, (sku, pname, price, stock, color, group)) in DEMO_PRODUCTS.iter().enumerate()
        {
            sqlx::query(
                "INSERT INTO products (sku, store_id, name, price, currency, stock, color, group_buy_min, group_buy_price, position)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(sku)
            .bind(id)
            .bind(pname)
            .bind(price)
            .bind(currency)
            .bind(stock)
            .bind(color)
            .bind(group.map(|g| g.0))
            .bind(group.map(|g| g.1))
            .bind(position as i64)
            .execute(&mut *tx)
            .await?;
        }
        tracing::info!(
            store = id,
            products = DEMO_PRODUCTS.len(),
            "seeded the demo store"
        );
    }
    tx.commit().await?;
    Ok(())
}

/// Loads the (single) store and its catalog into memory.
pub async fn load_catalog(pool: &SqlitePool) -> Result<Catalog> {
    let store = sqlx::query("SELECT id, name, currency FROM stores ORDER BY id LIMIT 1")
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::Corrupt("no store: start without --no-seed once".into()))?;
    let store = StoreInfo {
        id: store.get("id"),
        name: store.get("name"),
        currency: store.get("currency"),
    };
    let rows = sqlx::query(
        "SELECT sku, name, price, currency, stock, color, group_buy_min, group_buy_price
         FROM products WHERE store_id = ? ORDER BY position",
    )
    .bind(&store.id)
    .fetch_all(pool)
    .await?;
    let products = rows
        .into_iter()
        .map(|r| {
            let sku: String = r.get("sku");
            let min: Option<i64> = r.get("group_buy_min");
            let price: Option<i64> = r.get("group_buy_price");
            Product {
                image_url: format!("/images/{sku}.svg"),
                sku,
                name: r.get("name"),
                price: r.get("price"),
                currency: r.get("currency"),
                stock: r.get("stock"),
                color: r.get("color"),
                group_buy: min.zip(price).map(|(min_quantity, price)| GroupBuy {
                    min_quantity,
                    price,
                }),
            }
        })
        .collect();
    Ok(Catalog::new(store, products))
}

fn parse_uuid<T: FromStr>(s: &str) -> Result<T> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("bad id {s:?}")))
}

/// A user account.
#[derive(Clone, Debug, serde::Serialize)]
pub struct User {
    pub id: UserId,
    pub email: Option<String>,
    pub name: String,
    pub guest: bool,
}

fn user_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<User> {
    Ok(User {
        id: parse_uuid(row.get::<&str, _>("id"))?,
        email: row.get("email"),
        name: row.get("name"),
        guest: row.get::<i64, _>("is_guest") != 0,
    })
}

pub async fn insert_user(
    pool: &SqlitePool,
    user: &User,
    password_hash: Option<&str>,
    now_ms: i64,
) -> Result<bool> {
    let res = sqlx::query(
        "INSERT INTO users (id, email, name, password_hash, is_guest, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING",
    )
    .bind(user.id.to_string())
    .bind(&user.email)
    .bind(&user.name)
    .bind(password_hash)
    .bind(user.guest as i64)
    .bind(now_ms)
    .execute(pool)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// Turns a guest into a registered account, keeping its id (and carts).
/// False when the e-mail is taken.
pub async fn upgrade_guest(
    pool: &SqlitePool,
    id: UserId,
    email: &str,
    name: &str,
    password_hash: &str,
) -> Result<bool> {
    let res = sqlx::query(
        "UPDATE OR IGNORE users SET email = ?, name = ?, password_hash = ?, is_guest = 0 WHERE id = ? AND is_guest = 1",
    )
    .bind(email)
    .bind(name)
    .bind(password_hash)
    .bind(id.to_string())
    .execute(pool)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// The user with this e-mail and its password hash.
pub async fn user_by_email(
    pool: &SqlitePool,
    email: &str,
) -> Result<Option<(User, Option<String>)>> {
    let row =
        sqlx::query("SELECT id, email, name, is_guest, password_hash FROM users WHERE email = ?")
            .bind(email)
            .fetch_optional(pool)
            .await?;
    row.map(|r| Ok((user_from_row(&r)?, r.get("password_hash"))))
        .transpose()
}

/// A user's display name.
pub async fn user_name(pool: &SqlitePool, id: UserId) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT name FROM users WHERE id = ?")
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?)
}

pub async fn insert_session(
    pool: &SqlitePool,
    token_hash: &str,
    user: UserId,
    now_ms: i64,
    expires_at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
    )
    .bind(token_hash)
    .bind(user.to_string())
    .bind(now_ms)
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// The user of an unexpired session.
pub async fn session_user(
    pool: &SqlitePool,
    token_hash: &str,
    now_ms: i64,
) -> Result<Option<User>> {
    let row = sqlx::query(
        "SELECT u.id, u.email, u.name, u.is_guest FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = ? AND s.expires_at > ?",
    )
    .bind(token_hash)
    .bind(now_ms)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// Forgets sessions that have expired; returns how many.
pub async fn delete_expired_sessions(pool: &SqlitePool, now_ms: i64) -> Result<u64> {
    let res = sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
        .bind(now_ms)
        .execute(pool)
        .await?;
    Ok(res.rows_affected())
}

pub async fn delete_session(pool: &SqlitePool, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// A cart as listed for a member.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CartSummary {
    pub id: CartId,
    pub name: String,
    pub role: MemberRole,
    pub subtotal: i64,
    pub currency: String,
    pub line_count: i64,
}

fn role_from_str(s: &str) -> Result<MemberRole> {
    MemberRole::parse(s).ok_or_else(|| StoreError::Corrupt(format!("bad role {s:?}")))
}

/// Creates a cart with its creator as admin and its first snapshot, atomically.
pub async fn create_cart(
    pool: &SqlitePool,
    cart: CartId,
    store_id: &str,
    name: &str,
    creator: UserId,
    snapshot: &[u8],
    now_ms: i64,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO carts (id, store_id, name, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(cart.to_string())
    .bind(store_id)
    .bind(name)
    .bind(creator.to_string())
    .bind(now_ms)
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO members (cart_id, user_id, role, added_at) VALUES (?, ?, 'admin', ?)")
        .bind(cart.to_string())
        .bind(creator.to_string())
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO snapshots (cart_id, upto_seq, bytes) VALUES (?, 0, ?)")
        .bind(cart.to_string())
        .bind(snapshot)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn count_created_carts(pool: &SqlitePool, user: UserId) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM carts WHERE created_by = ?")
            .bind(user.to_string())
            .fetch_one(pool)
            .await?,
    )
}

pub async fn list_carts(pool: &SqlitePool, user: UserId) -> Result<Vec<CartSummary>> {
    let rows = sqlx::query(
        "SELECT c.id, c.name, m.role, c.subtotal, s.currency, c.line_count
         FROM members m JOIN carts c ON c.id = m.cart_id JOIN stores s ON s.id = c.store_id
         WHERE m.user_id = ? ORDER BY c.updated_at DESC",
    )
    .bind(user.to_string())
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CartSummary {
                id: parse_uuid(r.get::<&str, _>("id"))?,
                name: r.get("name"),
                role: role_from_str(r.get("role"))?,
                subtotal: r.get("subtotal"),
                currency: r.get("currency"),
                line_count: r.get("line_count"),
            })
        })
        .collect()
}

/// The user's role in the cart, or None when not a member (or no such cart).
pub async fn role_of(pool: &SqlitePool, cart: CartId, user: UserId) -> Result<Option<MemberRole>> {
    let role: Option<String> =
        sqlx::query_scalar("SELECT role FROM members WHERE cart_id = ? AND user_id = ?")
            .bind(cart.to_string())
            .bind(user.to_string())
            .fetch_optional(pool)
            .await?;
    role.as_deref().map(role_from_str).transpose()
}

/// A member as listed for the members panel.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Member {
    pub user_id: UserId,
    pub name: String,
    pub email: Option<String>,
    pub role: MemberRole,
}

pub async fn list_members(pool: &SqlitePool, cart: CartId) -> Result<Vec<Member>> {
    let rows = sqlx::query(
        "SELECT u.id, u.name, u.email, m.role FROM members m JOIN users u ON u.id = m.user_id
         WHERE m.cart_id = ? ORDER BY m.added_at, u.name",
    )
    .bind(cart.to_string())
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Member {
                user_id: parse_uuid(r.get::<&str, _>("id"))?,
                name: r.get("name"),
                email: r.get("email"),
                role: role_from_str(r.get("role"))?,
            })
        })
        .collect()
}

/// Why a membership change was refused.
#[derive(Debug, thiserror::Error)]
pub enum MemberChangeError {
    #[error("the cart must keep at least one admin")]
    LastAdmin,
    #[error("not a member of this cart")]
    NotMember,
    #[error("a cart has at most {0} members")]
    TooMany(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for MemberChangeError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Sets a user's role (adding the member if needed), keeping one admin.
/// `None` removes the member. Runs in one transaction so that two admins
/// demoting each other cannot leave the cart without one.
pub async fn set_member_role(
    pool: &SqlitePool,
    cart: CartId,
    user: UserId,
    role: Option<MemberRole>,
    add_if_missing: bool,
    max_members: i64,
    now_ms: i64,
) -> Result<(), MemberChangeError> {
    let mut tx = pool.begin().await?;
    // Take the write lock first so the admin count below cannot go stale.
    sqlx::query("UPDATE carts SET updated_at = updated_at WHERE id = ?")
        .bind(cart.to_string())
        .execute(&mut *tx)
        .await?;
    let current: Option<String> =
        sqlx::query_scalar("SELECT role FROM members WHERE cart_id = ? AND user_id = ?")
            .bind(cart.to_string())
            .bind(user.to_string())
            .fetch_optional(&mut *tx)
            .await?;
    match (&current, add_if_missing) {
        (None, false) => return Err(MemberChangeError::NotMember),
        (None, true) => {
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE cart_id = ?")
                .bind(cart.to_string())
                .fetch_one(&mut *tx)
                .await?;
            if count >= max_members {
                return Err(MemberChangeError::TooMany(max_members));
            }
        }
        _ => {}
    }
    if current.as_deref() == Some("admin") && role != Some(MemberRole::Admin) {
        let admins: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE cart_id = ? AND role = 'admin'")
                .bind(cart.to_string())
                .fetch_one(&mut *tx)
                .await?;
        if admins <= 1 {
            return Err(MemberChangeError::LastAdmin);
        }
    }
    match role {
        Some(role) => {
            sqlx::query(
                "INSERT INTO members (cart_id, user_id, role, added_at) VALUES (?, ?, ?, ?)
                 ON CONFLICT (cart_id, user_id) DO UPDATE SET role = excluded.role",
            )
            .bind(cart.to_string())
            .bind(user.to_string())
            .bind(role.as_str())
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM members WHERE cart_id = ? AND user_id = ?")
                .bind(cart.to_string())
                .bind(user.to_string())
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

pub async fn delete_cart(pool: &SqlitePool, cart: CartId) -> Result<()> {
    sqlx::query("DELETE FROM carts WHERE id = ?")
        .bind(cart.to_string())
        .execute(pool)
        .await?;
    Ok(())
}

/// What a room needs to come alive.
pub struct CartState {
    pub snapshot: Vec<u8>,
    /// Changes after the snapshot, in order.
    pub changes: Vec<Vec<u8>>,
    /// The last change sequence number.
    pub last_seq: i64,
    pub snapshot_seq: i64,
    /// Recently applied (user, op_id), oldest first.
    pub applied_ops: Vec<(UserId, String)>,
    /// Recent activity, oldest first.
    pub activity: Vec<ActivityEvent>,
}

/// Loads a cart's snapshot, later changes, recent op ids and activity.
pub async fn load_cart_state(
    pool: &SqlitePool,
    cart: CartId,
    op_memory: i64,
    activity_memory: i64,
) -> Result<Option<CartState>> {
    let id = cart.to_string();
    let Some(head) = sqlx::query("SELECT bytes, upto_seq FROM snapshots WHERE cart_id = ?")
        .bind(&id)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let snapshot_seq: i64 = head.get("upto_seq");
    let rows =
        sqlx::query("SELECT seq, bytes FROM changes WHERE cart_id = ? AND seq > ? ORDER BY seq")
            .bind(&id)
            .bind(snapshot_seq)
            .fetch_all(pool)
            .await?;
    let last_seq = rows.last().map_or(snapshot_seq, |r| r.get("seq"));
    let changes = rows.into_iter().map(|r| r.get("bytes")).collect();
    let ops = sqlx::query(
        "SELECT user_id, op_id FROM applied_ops WHERE cart_id = ? ORDER BY seq DESC LIMIT ?",
    )
    .bind(&id)
    .bind(op_memory)
    .fetch_all(pool)
    .await?;
    let mut applied_ops = ops
        .iter()
        .map(|r| Ok((parse_uuid(r.get::<&str, _>("user_id"))?, r.get("op_id"))))
        .collect::<Result<Vec<_>>>()?;
    applied_ops.reverse();
    let activity = recent_activity(pool, cart, activity_memory).await?;
    Ok(Some(CartState {
        snapshot: head.get("bytes"),
        changes,
        last_seq,
        snapshot_seq,
        applied_ops,
        activity,
    }))
}

/// The latest `limit` activity events, oldest first.
pub async fn recent_activity(
    pool: &SqlitePool,
    cart: CartId,
    limit: i64,
) -> Result<Vec<ActivityEvent>> {
    let rows = sqlx::query(
        "SELECT seq, at, user_id, user_name, kind, text, subtotal, currency FROM activity
         WHERE cart_id = ? ORDER BY seq DESC LIMIT ?",
    )
    .bind(cart.to_string())
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let mut events = rows
        .iter()
        .map(|r| {
            Ok(ActivityEvent {
                seq: r.get("seq"),
                at: r.get("at"),
                user_id: parse_uuid(r.get::<&str, _>("user_id"))?,
                user_name: r.get("user_name"),
                kind: r.get("kind"),
                text: r.get("text"),
                subtotal: r.get("subtotal"),
                currency: r.get("currency"),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    events.reverse();
    Ok(events)
}
