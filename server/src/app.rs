//! The composition root: picks the storage backend, builds the rooms and
//! the services, serves until shutdown, then lets everything finish.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cart::NodeId;
use crate::catalog::CatalogHandle;
use crate::catalog::demo::demo_catalog;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::room::{RoomEnv, RoomLimits, Rooms};
use crate::services::{
    AccountService, CartService, LiveConnections, MemberService, ServiceError, Services,
};
use crate::store::sqlite::SqliteStore;
use crate::store::{StoreError, Stores};

/// How long shutdown waits for sockets and rooms to finish.
const TASKS_GRACE: Duration = Duration::from_secs(20);

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Service(#[from] ServiceError),
    #[error("the database has no store; start once without --no-seed to create the demo store")]
    NoStore,
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
}

/// The tasks of a node and the signal that stops them.
#[derive(Clone)]
pub struct Lifecycle {
    /// Cancelled on SIGTERM / Ctrl-C; every socket loop and room watches it.
    pub shutdown: CancellationToken,
    /// Tracks rooms and connections so that shutdown can wait for them.
    pub tracker: TaskTracker,
}

/// What the HTTP and WebSocket edges reach.
#[derive(Clone)]
pub struct AppState {
    pub(crate) services: Arc<Services>,
    pub(crate) config: Arc<Config>,
    pub(crate) lifecycle: Lifecycle,
    pub(crate) metrics: PrometheusHandle,
}

/// The process-wide Prometheus recorder (metrics macros record into one global).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed by an embedding program.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Builds every service of a node on `stores`.
async fn services(
    config: &Config,
    stores: &Stores,
    clock: Arc<dyn Clock>,
    lifecycle: &Lifecycle,
) -> Result<Services, StartError> {
    if !config.no_seed && stores.catalog.seed(&demo_catalog()).await? {
        tracing::info!("seeded the demo store");
    }
    let catalog = stores
        .catalog
        .load_catalog()
        .await?
        .ok_or(StartError::NoStore)?;
    let catalog = CatalogHandle::new(catalog);
    let node = NodeId(0);
    let rooms = Rooms::new(
        RoomEnv {
            changes: stores.changes.clone(),
            catalog: catalog.clone(),
            clock: clock.clone(),
            node,
            limits: RoomLimits::new(config.room_idle(), config.snapshot_every),
        },
        lifecycle.tracker.clone(),
        lifecycle.shutdown.clone(),
    );
    let live = Arc::new(LiveConnections::new(config.max_connections));
    Ok(Services {
        accounts: AccountService::new(
            stores.accounts.clone(),
            stores.sessions.clone(),
            clock.clone(),
            config.session_ttl_ms(),
            live.clone(),
        ),
        carts: CartService::new(
            stores.carts.clone(),
            stores.members.clone(),
            stores.changes.clone(),
            rooms.clone(),
            catalog.clone(),
            clock.clone(),
            node,
        ),
        members: MemberService::new(
            stores.members.clone(),
            stores.accounts.clone(),
            rooms.clone(),
            clock,
        ),
        catalog,
        live,
        rooms,
        health: stores.health.clone(),
    })
}

/// A node ready to serve: storage open and migrated, catalog loaded,
/// services built. Starting before binding means that a node that cannot
/// serve (no store, a database it cannot open) says so before it listens.
pub struct Server {
    state: AppState,
    backend: Arc<SqliteStore>,
}

impl Server {
    /// Opens the storage and builds the services; `shutdown` stops them later.
    pub async fn start(config: Config, shutdown: CancellationToken) -> Result<Self, StartError> {
        let backend = Arc::new(SqliteStore::open(&config).await?);
        let stores = Stores::from_backend(backend.clone());
        let lifecycle = Lifecycle {
            shutdown,
            tracker: TaskTracker::new(),
        };
        let services = services(&config, &stores, Arc::new(SystemClock), &lifecycle).await?;
        let expired = services.accounts.forget_expired_sessions().await?;
        tracing::debug!(expired, "expired sessions removed");
        let state = AppState {
            services: Arc::new(services),
            config: Arc::new(config),
            lifecycle,
            metrics: metrics_handle(),
        };
        Ok(Self { state, backend })
    }

    /// Serves on `listener` until shutdown, then closes every socket with
    /// 1001, lets rooms finish their commits and closes the storage.
    pub async fn serve(self, listener: TcpListener) {
        let Self { state, backend } = self;
        let lifecycle = state.lifecycle.clone();
        let router = crate::http::router(state.clone());
        let limits = state.config.serve_limits();
        crate::serve::serve(listener, router, limits, lifecycle.shutdown.clone()).await;
        // Sockets and rooms watch `shutdown`; wait for them, bounded.
        lifecycle.tracker.close();
        if tokio::time::timeout(TASKS_GRACE, lifecycle.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("some connections or rooms did not stop within {TASKS_GRACE:?}");
        }
        drop(state);
        backend.close().await;
        tracing::info!("stopped");
    }
}

/// Starts a node and serves on `listener` until `shutdown` is cancelled.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> Result<(), StartError> {
    Server::start(config, shutdown).await?.serve(listener).await;
    Ok(())
}
