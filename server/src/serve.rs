//! The accept loop: HTTP/1 connections (and the WebSockets they upgrade
//! to) with every wait bounded. A client that sends nothing, half a request
//! header, or one request and then idles is closed after
//! `--header-read-timeout-secs`; one address holds at most
//! `--max-connections-per-ip` sockets; shutdown waits for open requests at
//! most `SHUTDOWN_GRACE`. (axum's own `serve` has none of these bounds.)

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// Longest wait for open HTTP requests once shutdown starts.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Pause after a failed accept (out of file descriptors, say), so that the
/// loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The bounds of the accept loop.
#[derive(Clone, Copy, Debug)]
pub struct ServeLimits {
    /// Longest wait for a request's header, and for the next request on a
    /// kept-alive connection.
    pub header_read_timeout: Duration,
    /// Sockets one client address may hold open.
    pub max_per_ip: usize,
}

/// Sockets open per client address.
#[derive(Debug, Default)]
struct PerIp {
    /// Locked only to count; nothing awaits under it.
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One socket's place in its address's count; freed when the last clone is
/// dropped. A WebSocket keeps it (through the request's extensions) after
/// the HTTP connection has handed its socket over.
#[derive(Clone, Debug)]
pub struct ConnSlot {
    _held: Arc<SlotInner>,
}

#[derive(Debug)]
struct SlotInner {
    per_ip: Arc<PerIp>,
    ip: IpAddr,
}

impl Drop for SlotInner {
    fn drop(&mut self) {
        let mut open = self.per_ip.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

impl PerIp {
    fn take(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<ConnSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(ip).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(ConnSlot {
            _held: Arc::new(SlotInner {
                per_ip: self.clone(),
                ip,
            }),
        })
    }
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then stops
/// accepting and waits (bounded) for the requests in flight.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: CancellationToken,
) {
    let connections = TaskTracker::new();
    let per_ip = Arc::new(PerIp::default());
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        let Some(slot) = per_ip.take(peer.ip(), limits.max_per_ip) else {
            tracing::debug!(%peer, "too many connections from this address");
            metrics::counter!("cartroom_connections_refused_total", "reason" => "per_ip")
                .increment(1);
            continue;
        };
        // Small frames must leave at once: Nagle's algorithm would hold each
        // ack or change back until the previous one is acknowledged.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY");
        }
        let service = router
            .clone()
            .map_request(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                req.extensions_mut().insert(slot.clone());
                req
            });
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service))
            .with_upgrades();
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let mut conn = pin!(conn);
            let ended = tokio::select! {
                ended = conn.as_mut() => ended,
                _ = shutdown.cancelled() => {
                    // Finish the request in flight, then close.
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    connections.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("some HTTP requests were still open after {SHUTDOWN_GRACE:?}");
    }
}
