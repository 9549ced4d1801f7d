//! Accounts and carts for a run, made over the real HTTP API.
//!
//! Sign-up hashes the password with argon2id on the server, so signing up
//! one account per simulated member would dominate setup. Instead a run
//! signs up one pool of member accounts per [`CARTS_PER_POOL`] carts (each
//! pool as many as the largest cart has distinct users, at most 99) plus
//! one per watcher, and adds a cart's pool to it; carts are created by
//! guests (no argon2). Each participant still has its own connection; when
//! a cart has more participants than the membership limit allows users,
//! several connections share a user.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use cartroom_client::Account;
use cartroom_protocol::{CartId, MemberRole, Op, OpId};
use tokio::sync::Semaphore;

/// A cart may create this many carts per user (protocol limit: 200).
const CARTS_PER_CREATOR: usize = 150;
/// Concurrent HTTP requests during setup.
const SETUP_CONCURRENCY: usize = 32;

pub struct Carts {
    pub ids: Vec<CartId>,
    /// The admin of each cart (a guest), for reading it back at the end.
    pub admins: Vec<Account>,
}

/// Runs `f(i)` for `0..n` with bounded concurrency; the first error wins.
pub async fn for_each<T, F, Fut>(n: usize, f: F) -> anyhow::Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<T>> + Send + 'static,
{
    let gate = Arc::new(Semaphore::new(SETUP_CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let permit = gate.clone().acquire_owned().await?;
        let fut = f(i);
        tasks.spawn(async move {
            let r = fut.await;
            drop(permit);
            r.map(|v| (i, v))
        });
    }
    let mut out: Vec<Option<T>> = (0..n).map(|_| None).collect();
    while let Some(r) = tasks.join_next().await {
        let (i, v) = r??;
        out[i] = Some(v);
    }
    Ok(out
        .into_iter()
        .map(|v| v.expect("every task ran"))
        .collect())
}

/// Signs up `n` accounts named `{prefix}{i}`.
pub async fn sign_up_pool(
    base_url: &str,
    run_tag: &str,
    prefix: &str,
    n: usize,
) -> anyhow::Result<Vec<Account>> {
    for_each(n, |i| {
        let base = base_url.to_owned();
        let email = format!("{prefix}{i}-{run_tag}@loadtest.invalid");
        let name = format!("{prefix}{i}");
        async move {
            Account::sign_up(&base, &email, "loadtest-password", &name)
                .await
                .with_context(|| format!("signing up {email}"))
        }
    })
    .await
}

/// `n` guest accounts.
pub async fn guests(base_url: &str, prefix: &str, n: usize) -> anyhow::Result<Vec<Account>> {
    for_each(n, |i| {
        let base = base_url.to_owned();
        let name = format!("{prefix}{i}");
        async move { Account::guest(&base, &name).await }
    })
    .await
}

/// Carts that share one pool of member accounts: a shopper may subscribe to
/// at most this many carts at once.
pub const CARTS_PER_POOL: usize = cartroom_protocol::limits::MAX_SUBSCRIPTIONS_PER_SHOPPER;

/// The member accounts of cart `cart`: its pool in `members`, which holds
/// `users_per_cart` accounts per [`CARTS_PER_POOL`] carts.
pub fn pool_of(members: &[Account], users_per_cart: usize, cart: usize) -> &[Account] {
    let start = cart / CARTS_PER_POOL * users_per_cart;
    &members[start..start + users_per_cart]
}

/// Creates `n` carts, adds each its pool of `members` (see [`pool_of`]) as
/// editors and `watchers(i)` as viewers, and seeds each with one line per sku at `quantity`.
pub async fn carts(
    base_url: &str,
    n: usize,
    members: &[Account],
    users_per_cart: usize,
    watchers_of: impl Fn(usize) -> Vec<Account>,
    skus: &[String],
    quantity: i64,
) -> anyhow::Result<Carts> {
    let creators = guests(base_url, "admin", n.div_ceil(CARTS_PER_CREATOR).max(1)).await?;
    let members = Arc::new(members.to_vec());
    let skus = Arc::new(skus.to_vec());
    let watchers: Vec<Vec<Account>> = (0..n).map(&watchers_of).collect();
    let watchers = Arc::new(watchers);
    let creators = Arc::new(creators);
    let ids = for_each(n, |i| {
        let admin = creators[i / CARTS_PER_CREATOR].clone();
        let members = members.clone();
        let watchers = watchers.clone();
        let skus = skus.clone();
        async move {
            let cart = admin.create_cart(&format!("load cart {i}")).await?;
            for m in pool_of(&members, users_per_cart, i) {
                let email = m.email.as_deref().context("member without e-mail")?;
                admin.add_member(cart, email, MemberRole::Editor).await?;
            }
            for w in &watchers[i] {
                let email = w.email.as_deref().context("watcher without e-mail")?;
                admin.add_member(cart, email, MemberRole::Viewer).await?;
            }
            for sku in skus.iter() {
                let op = Op::AddLine {
                    sku: sku.clone(),
                    quantity,
                };
                admin
                    .http_op(cart, &OpId(format!("seed-{sku}")), &op)
                    .await
                    .with_context(|| format!("seeding {sku}"))?;
            }
            Ok(cart)
        }
    })
    .await?;
    let admins = (0..n)
        .map(|i| creators[i / CARTS_PER_CREATOR].clone())
        .collect();
    Ok(Carts { ids, admins })
}

/// Skus from the catalog whose stock leaves room for a random walk around
/// `quantity`.
pub async fn pick_skus(
    account: &Account,
    quantity: i64,
    want: usize,
) -> anyhow::Result<Vec<String>> {
    let catalog = account
        .request_json(cartroom_client::http::Method::GET, "/api/catalog", None)
        .await?;
    let mut skus: Vec<String> = catalog["products"]
        .as_array()
        .context("catalog without products")?
        .iter()
        .filter(|p| p["stock"].as_i64().unwrap_or(0) >= 2 * quantity)
        .filter_map(|p| p["sku"].as_str().map(str::to_owned))
        .collect();
    skus.truncate(want);
    anyhow::ensure!(!skus.is_empty(), "no product has stock >= {}", 2 * quantity);
    Ok(skus)
}
