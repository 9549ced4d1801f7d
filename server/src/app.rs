//! The composition root: picks the storage backend, builds the rooms and
//! the services (`compose`), serves until shutdown, then lets everything
//! finish.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::{Clock, OffsetClock, SystemClock};
use crate::cluster::{LeaseKeeper, LeaseSettings};
use crate::compose::{Mail, services};
use crate::config::Config;
use crate::mail::transport::TransportError;
use crate::mail::{DevMailbox, MailQueue, MailWorker, PublicUrl, Transport};
use crate::services::{ServiceError, Services};
use crate::store::StoreError;
use crate::store::backend::Backend;

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
    #[error("e-mail: {0}")]
    Mail(#[from] TransportError),
    #[error("{0}")]
    Nats(#[from] crate::cluster::bus::BusError),
    #[error("--nats-url needs a Postgres --database-url: nodes share their carts through it")]
    NatsWithoutPostgres,
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
    /// Where e-mails go when no SMTP server is configured; `/dev/mailbox`
    /// lists it (and exists only then).
    pub(crate) dev_mailbox: Option<DevMailbox>,
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

/// How often histogram samples are folded into their summaries.
const METRICS_UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Folds the histograms' raw samples into their (bounded) summaries. The
/// recorder keeps every sample until a scrape of `/metrics` or this: a node
/// nobody scrapes grew by ~10 MB every 100 s at 2,000 ops/s without it.
async fn upkeep_metrics(metrics: PrometheusHandle, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(METRICS_UPKEEP_EVERY);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => metrics.run_upkeep(),
        }
    }
}

/// A node ready to serve: storage open and migrated, catalog loaded,
/// services built. Starting before binding means that a node that cannot
/// serve (no store, a database it cannot open) says so before it listens.
pub struct Server {
    state: AppState,
    backend: Backend,
    /// Many nodes: this node's cart leases, renewed while serving.
    leases: Option<Arc<LeaseKeeper>>,
    /// Started when serving; drains the outbox until shutdown.
    mail_worker: MailWorker,
}

impl Server {
    /// Opens the storage and builds the services; `shutdown` stops them later.
    pub async fn start(config: Config, shutdown: CancellationToken) -> Result<Self, StartError> {
        let clock: Arc<dyn Clock> = match config.clock_offset_ms {
            0 => Arc::new(SystemClock),
            offset => Arc::new(OffsetClock(offset)),
        };
        Self::start_with_clock(config, shutdown, clock).await
    }

    /// [`Server::start`] with time from `clock` (expiry, activity times,
    /// e-mail retries), so that tests can move it.
    pub async fn start_with_clock(
        config: Config,
        shutdown: CancellationToken,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartError> {
        let node = config
            .node_name
            .clone()
            .unwrap_or_else(|| format!("node-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]));
        let backend = Backend::open(&config, &node).await?;
        let stores = backend.stores();
        let leases = backend.leases().map(|store| {
            tracing::info!(
                node,
                "on Postgres: this node's carts are leased under its name"
            );
            LeaseKeeper::new(
                store,
                LeaseSettings {
                    node: node.clone(),
                    ttl: Duration::from_millis(config.lease_ttl_ms),
                },
            )
        });
        let lifecycle = Lifecycle {
            shutdown,
            tracker: TaskTracker::new(),
        };
        let mail = Mail {
            queue: MailQueue::default(),
            public_url: PublicUrl::default(),
        };
        if let Some(url) = &config.public_url {
            mail.public_url.set(url);
        }
        let (transport, dev_mailbox) = match &config.smtp_url {
            Some(url) => (Transport::smtp(url, &config.mail_from)?, None),
            None => {
                let mailbox = DevMailbox::in_data_dir(&config.data_dir);
                tracing::info!(
                    dir = %mailbox.dir().display(),
                    "no --smtp-url: e-mails go to the dev mailbox, listed at /dev/mailbox"
                );
                let transport = Transport::dev_mailbox(mailbox.clone(), &config.mail_from)?;
                (transport, Some(mailbox))
            }
        };
        let services = services(
            &config,
            &stores,
            leases.clone(),
            clock.clone(),
            &lifecycle,
            &mail,
        )
        .await?;
        let mail_worker = MailWorker {
            outbox: stores.outbox.clone(),
            transport,
            public_url: mail.public_url,
            clock,
            queue: mail.queue,
        };
        let expired = services.accounts.forget_expired_sessions().await?;
        tracing::debug!(expired, "expired sessions removed");
        // Deadlines that passed while the node was down lock their carts
        // before anyone can edit them.
        let locked = services.deadlines.catch_up().await?;
        if locked > 0 {
            tracing::info!(locked, "locked carts whose deadline passed while stopped");
        }
        let state = AppState {
            services: Arc::new(services),
            config: Arc::new(config),
            lifecycle,
            metrics: metrics_handle(),
            dev_mailbox,
        };
        Ok(Self {
            state,
            backend,
            leases,
            mail_worker,
        })
    }

    /// Serves on `listener` until shutdown, then closes every socket with
    /// 1001, lets rooms finish their commits and closes the storage.
    pub async fn serve(self, listener: TcpListener) {
        let Self {
            state,
            backend,
            leases,
            mail_worker,
        } = self;
        let lifecycle = state.lifecycle.clone();
        if let Ok(addr) = listener.local_addr() {
            // Does nothing when --public-url set it.
            mail_worker.public_url.set(&format!("http://{addr}"));
        }
        lifecycle
            .tracker
            .spawn(mail_worker.run(lifecycle.shutdown.clone()));
        lifecycle.tracker.spawn(
            state
                .services
                .deadlines
                .clone()
                .run(lifecycle.shutdown.clone()),
        );
        if let Some(leases) = leases {
            lifecycle
                .tracker
                .spawn(leases.run(lifecycle.shutdown.clone()));
        }
        lifecycle.tracker.spawn(upkeep_metrics(
            state.metrics.clone(),
            lifecycle.shutdown.clone(),
        ));
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
