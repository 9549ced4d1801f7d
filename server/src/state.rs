//! What every handler, connection and room shares.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use dashmap::DashMap;
use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::SqlitePool;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::catalog::Catalog;
use crate::config::Config;
use crate::room::Rooms;
use crate::writer::WriterHandle;

/// Where time comes from, so that expiry can be tested.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Unix time in milliseconds.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
}

/// A live WebSocket connection, so that signing out can end it.
#[derive(Debug)]
pub struct LiveSession {
    pub token_hash: String,
    pub ended: CancellationToken,
}

/// State shared by the whole node.
pub struct Shared {
    pub config: Config,
    pub pool: SqlitePool,
    pub catalog: Catalog,
    pub writer: WriterHandle,
    pub rooms: Rooms,
    pub clock: Arc<dyn Clock>,
    /// Cancelled on SIGTERM / Ctrl-C; every socket loop and room watches it.
    pub shutdown: CancellationToken,
    /// Tracks rooms and connections so shutdown can wait for them.
    pub tracker: TaskTracker,
    /// Part of every Automerge actor id made here (see `cart::Actor`).
    pub node_id: u16,
    pub next_conn_id: AtomicU64,
    /// Live connections by id.
    pub connections: DashMap<u64, LiveSession>,
    pub metrics: PrometheusHandle,
    /// Sign-in attempts per e-mail, against password guessing.
    pub signin_limiter: governor::DefaultKeyedRateLimiter<String>,
}

pub type AppState = Arc<Shared>;
