//! Cartroom: a real-time collaborative shopping-cart server.
//!
//! Each cart is an Automerge document owned by one room task. Clients send
//! operations (`add_line`, `vote`, ...) over a WebSocket; the room checks the
//! sender's role and the catalog, applies the op as one Automerge change,
//! has the group-commit writer make it durable in SQLite, and only then acks
//! it and broadcasts the change bytes to everyone in the room.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cartroom::StartError> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let config = cartroom::Config::for_data_dir("./data");
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! cartroom::run(listener, config, shutdown).await
//! # }
//! ```
//!
//! # Layout
//! - [`config`]: flags and `CARTROOM_*` environment variables.
//! - [`store`]: SQLite schema and queries; [`writer`]: the group-commit writer.
//! - [`catalog`]: products, prices, stock, pictures.
//! - [`cart`]: the document schema and how each op is validated and applied (no I/O).
//! - [`room`]: one task per loaded cart, and the registry that finds it.
//! - [`ws`]: the `/ws` endpoint; [`api`]: the HTTP API; [`auth`]: accounts and sessions.
//! - [`state`]: what they all share; [`error`]: HTTP errors with stable codes.

pub mod api;
pub mod auth;
pub mod cart;
pub mod catalog;
pub mod config;
pub mod error;
pub mod room;
pub mod state;
pub mod store;
pub mod writer;
pub mod ws;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderValue;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::serve::ListenerExt;
use cartroom_protocol::limits::MAX_FRAME_BYTES;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::Layer;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use config::Config;
use state::{AppState, Shared, SystemClock};

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("storage: {0}")]
    Store(#[from] store::StoreError),
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
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

/// The whole HTTP surface: API, WebSocket, health, metrics and the web client.
pub fn app(state: AppState) -> Router {
    let web_dir = state.config.web_dir.clone();
    let web = ServeDir::new(&web_dir).fallback(ServeFile::new(web_dir.join("index.html")));
    let router = Router::new()
        .merge(api::routes())
        .route("/ws", get(ws::handler))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text));
    let router = if web_dir.join("index.html").exists() {
        // Vite names assets by content hash, so they never change.
        let assets = SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        )
        .layer(ServeDir::new(web_dir.join("assets")));
        router.nest_service("/assets", assets).fallback_service(web)
    } else {
        router.route("/", get(no_web_client))
    };
    router
        .layer(DefaultBodyLimit::max(MAX_FRAME_BYTES))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match sqlx::query("SELECT 1").execute(&state.pool).await {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}

async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    metrics::gauge!("cartroom_rooms").set(state.rooms.loaded() as f64);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

async fn no_web_client() -> Html<&'static str> {
    Html(
        "<!doctype html><title>Cartroom</title><h1>Cartroom is running</h1>\
         <p>The web client is not built. Run <code>make run</code> from the repository, \
         or point <code>--web-dir</code> at <code>web-client/dist</code>.</p>",
    )
}

/// Serves on `listener` until `shutdown` is cancelled, then closes every
/// socket with 1001, lets rooms finish their commits and stops the writer.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> Result<(), StartError> {
    let pool = store::open(&config).await?;
    let catalog = store::load_catalog(&pool).await?;
    let (writer, writer_task) = writer::spawn(pool.clone(), config.commit_batch);
    let tracker = TaskTracker::new();
    let state: AppState = Arc::new(Shared {
        rooms: room::Rooms::new(tracker.clone(), shutdown.clone()),
        config,
        pool: pool.clone(),
        catalog,
        writer: writer.clone(),
        clock: Arc::new(SystemClock),
        shutdown: shutdown.clone(),
        tracker: tracker.clone(),
        node_id: 0,
        next_conn_id: AtomicU64::new(1),
        connections: Default::default(),
        metrics: metrics_handle(),
        signin_limiter: governor::RateLimiter::keyed(auth::signin_quota()),
    });
    let expired = store::delete_expired_sessions(&pool, state.clock.now_ms()).await?;
    tracing::debug!(expired, "expired sessions removed");
    let router = app(state.clone());
    // Small frames must leave at once: Nagle's algorithm would hold each
    // ack or change back until the previous one is acknowledged.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY");
        }
    });
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .await;
    // Sockets and rooms watch `shutdown`; wait for them, bounded.
    tracker.close();
    if tokio::time::timeout(Duration::from_secs(20), tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections or rooms did not stop within 20 s");
    }
    drop(state);
    writer.send(writer::WriteCmd::Stop).await;
    let _ = writer_task.await;
    pool.close().await;
    tracing::info!("stopped");
    served.map_err(StartError::from)
}
