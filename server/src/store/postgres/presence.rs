//! This node's presence in the database: a session advisory lock, held on
//! a connection of its own for as long as the store is open. Another node
//! can tell this one is gone (killed, or cut off from the database) as soon
//! as Postgres ends that session and drops the lock: webhook claims of a
//! node that is not present are free again at once (`webhooks::claims`).

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tokio_util::sync::CancellationToken;

use crate::store::Result;

/// The first key of presence locks (`pg_locks.classid`); the second is
/// the node's own, random.
pub(super) const PRESENCE_CLASS: i32 = 0x5742;

/// How often the presence's connection is checked (and made again).
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// A node's presence, held until [`Presence::leave`].
pub(super) struct Presence {
    /// The second key of its lock.
    pub(super) key: i64,
    stop: CancellationToken,
    task: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Presence {
    /// Takes a presence lock with a random free key.
    pub(super) async fn take(options: &PgConnectOptions) -> Result<Self> {
        let mut conn = PgConnection::connect_with(options).await?;
        let key = loop {
            let key = i64::from(rand::random::<u32>() >> 1);
            if lock(&mut conn, key).await? {
                break key;
            }
        };
        let stop = CancellationToken::new();
        let task = tokio::spawn(hold(conn, options.clone(), key, stop.clone()));
        Ok(Self {
            key,
            stop,
            task: tokio::sync::Mutex::new(Some(task)),
        })
    }

    /// Lets go of the lock.
    pub(super) async fn leave(&self) {
        self.stop.cancel();
        if let Some(task) = self.task.lock().await.take() {
            let _ = task.await;
        }
    }
}

async fn lock(conn: &mut PgConnection, key: i64) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2::INT)")
            .bind(PRESENCE_CLASS)
            .bind(key)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Holds the lock until `stop`; a connection lost is made again, with the
/// same key, so the node's claims stay live.
async fn hold(
    mut conn: PgConnection,
    options: PgConnectOptions,
    key: i64,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(CHECK_EVERY) => {}
        }
        if conn.ping().await.is_ok() {
            continue;
        }
        match PgConnection::connect_with(&options).await {
            Ok(mut fresh) => {
                if matches!(lock(&mut fresh, key).await, Ok(true)) {
                    conn = fresh;
                } else {
                    tracing::warn!("this node's presence could not be taken again");
                }
            }
            Err(e) => tracing::warn!(error = %e, "this node's presence is lost"),
        }
    }
    let _ = conn.close().await;
}
