//! This node on NATS: the connection, heartbeats and the liveness of the
//! others ([`Nodes`]), the queue of frames for other nodes' sockets (one
//! task publishes them, in order), the live connections' events shared
//! with every node (sign-out, `carts_changed`, support messages), and the
//! catalogs' changes (the other nodes read the store's catalog again).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::HeaderMap;
use bytes::Bytes;
use cartroom_protocol::ConnId;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::nodes::{Liveness, Nodes};
use super::wire::{ALIVE_SUBJECT, CATALOG_SUBJECT, LIVE_SUBJECT, NODE_HEADER};
use crate::catalog::Catalogs;
use crate::services::{LiveConnections, LiveEvent};
use crate::store::CatalogStore;

/// Frames queued for other nodes at most; a full queue closes the
/// subscriber it was for, as a slow consumer.
const OUTBOX: usize = 65_536;

/// Live connection events (and catalog changes) queued for other nodes at most.
const LIVE_EVENTS: usize = 4_096;

/// What this node shares with the others.
pub struct Shared {
    pub live: Arc<LiveConnections>,
    pub catalogs: Catalogs,
    /// Where a catalog another node changed is read again.
    pub catalog_store: Arc<dyn CatalogStore>,
}

/// One message for NATS.
#[derive(Debug)]
pub struct Outgoing {
    pub subject: String,
    pub headers: HeaderMap,
    pub payload: Bytes,
}

/// This node's link to the others.
pub struct Bus {
    pub client: async_nats::Client,
    pub nodes: Nodes,
    /// The largest message the NATS server takes.
    pub max_payload: usize,
    /// How long a command to an owner may wait for its answer.
    pub request_timeout: Duration,
    /// How long a cart's lease lasts unrenewed.
    pub lease_ttl: Duration,
    outbox: mpsc::Sender<Outgoing>,
    /// Ids for other nodes' connections that rooms here serve.
    next_remote_id: AtomicU64,
}

/// Ids of other nodes' connections have the top bit set, so that they
/// never meet the ids of this node's own.
const REMOTE_IDS: u64 = 1 << 63;

/// NATS could not be reached at start.
#[derive(Debug, thiserror::Error)]
#[error("NATS at {url}: {error}")]
pub struct BusError {
    url: String,
    error: String,
}

impl Bus {
    /// Connects as `node`, and starts the heartbeat, the liveness sweep,
    /// the outbox and the sharing of `shared`, until `shutdown`.
    pub async fn connect(
        url: &str,
        node: &str,
        lease_ttl: Duration,
        shared: Shared,
        tracker: &TaskTracker,
        shutdown: CancellationToken,
    ) -> Result<Arc<Self>, BusError> {
        let error = |e: &dyn std::fmt::Display| BusError {
            url: url.to_owned(),
            error: e.to_string(),
        };
        let client = async_nats::ConnectOptions::new()
            .name(format!("cartroom {node}"))
            .connection_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| error(&e))?;
        let liveness = Liveness::for_lease(lease_ttl);
        let alive = client
            .subscribe(ALIVE_SUBJECT)
            .await
            .map_err(|e| error(&e))?;
        let events = client
            .subscribe(LIVE_SUBJECT)
            .await
            .map_err(|e| error(&e))?;
        let catalog_changes = client
            .subscribe(CATALOG_SUBJECT)
            .await
            .map_err(|e| error(&e))?;
        let (outbox, queued) = mpsc::channel(OUTBOX);
        let bus = Arc::new(Self {
            max_payload: client.server_info().max_payload,
            client,
            nodes: Nodes::new(node.to_owned(), liveness),
            request_timeout: Duration::from_secs(10),
            lease_ttl,
            outbox,
            next_remote_id: AtomicU64::new(REMOTE_IDS),
        });
        let (peers, live_events) = mpsc::channel(LIVE_EVENTS);
        shared.live.share_with(peers);
        let (peers, changed) = mpsc::channel(LIVE_EVENTS);
        shared.catalogs.share_with(peers);
        tracker.spawn(bus.clone().beat(liveness.beat, alive, shutdown.clone()));
        tracker.spawn(bus.clone().publish_outbox(queued, shutdown.clone()));
        tracker.spawn(
            bus.clone()
                .share_live(shared.live, live_events, events, shutdown.clone()),
        );
        tracker.spawn(bus.clone().share_catalogs(
            shared.catalogs,
            shared.catalog_store,
            changed,
            catalog_changes,
            shutdown,
        ));
        Ok(bus)
    }

    /// A connection id here for a connection of another node.
    pub fn remote_conn_id(&self) -> ConnId {
        ConnId(self.next_remote_id.fetch_add(1, Ordering::Relaxed))
    }

    /// This node's name.
    pub fn me(&self) -> &str {
        self.nodes.me()
    }

    /// Queues a message for NATS without waiting; false when the queue is full.
    pub fn try_send(&self, message: Outgoing) -> bool {
        self.outbox.try_send(message).is_ok()
    }

    /// Says this node is alive every `beat`, hears the others, and finds
    /// the silent ones gone.
    async fn beat(
        self: Arc<Self>,
        beat: Duration,
        mut alive: async_nats::Subscriber,
        shutdown: CancellationToken,
    ) {
        let me = Bytes::from(self.nodes.me().to_owned());
        let mut every = tokio::time::interval(beat);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = every.tick() => {
                    if let Err(e) = self.client.publish(ALIVE_SUBJECT, me.clone()).await {
                        tracing::warn!(error = %e, "heartbeat not sent");
                    }
                    self.nodes.sweep();
                }
                Some(heard) = alive.next() => {
                    if let Ok(node) = std::str::from_utf8(&heard.payload) {
                        self.nodes.heard(node);
                    }
                }
            }
        }
    }

    /// Publishes the queued frames in order. A frame lost here (NATS
    /// refused it) leaves its subscriber behind: it resyncs when it
    /// subscribes again.
    async fn publish_outbox(
        self: Arc<Self>,
        mut queued: mpsc::Receiver<Outgoing>,
        shutdown: CancellationToken,
    ) {
        loop {
            let message = tokio::select! {
                _ = shutdown.cancelled() => return,
                message = queued.recv() => match message {
                    Some(message) => message,
                    None => return,
                },
            };
            if let Err(e) = self
                .client
                .publish_with_headers(message.subject, message.headers, message.payload)
                .await
            {
                tracing::warn!(error = %e, "a frame for another node was not published");
            }
        }
    }

    /// A message for every other node, naming this one.
    async fn publish_to_peers(&self, subject: &'static str, payload: Bytes) {
        let mut headers = HeaderMap::new();
        headers.insert(NODE_HEADER, self.me());
        if let Err(e) = self
            .client
            .publish_with_headers(subject, headers, payload)
            .await
        {
            tracing::warn!(error = %e, subject, "a message for the other nodes was not sent");
        }
    }

    /// Whether a message came from this node.
    fn is_mine(&self, message: &async_nats::Message) -> bool {
        let from = message.headers.as_ref().and_then(|h| h.get(NODE_HEADER));
        from.is_some_and(|node| node.as_str() == self.me())
    }

    /// Tells the others of each catalog version made here, and reads a
    /// store's catalog again when another node made one.
    async fn share_catalogs(
        self: Arc<Self>,
        catalogs: Catalogs,
        store: Arc<dyn CatalogStore>,
        mut changed: mpsc::Receiver<String>,
        mut heard: async_nats::Subscriber,
        shutdown: CancellationToken,
    ) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                Some(store_id) = changed.recv() => {
                    self.publish_to_peers(CATALOG_SUBJECT, Bytes::from(store_id)).await;
                }
                Some(message) = heard.next() => {
                    if self.is_mine(&message) {
                        continue;
                    }
                    let Ok(store_id) = std::str::from_utf8(&message.payload) else { continue };
                    let Some(handle) = catalogs.get(store_id) else { continue };
                    match store.load_catalogs().await {
                        Ok(loaded) => {
                            if let Some(catalog) = loaded.iter().find(|c| c.store.id == store_id) {
                                handle.replace(catalog.listings().to_vec());
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "a changed catalog was not read again"),
                    }
                }
            }
        }
    }

    /// Sends this node's live events to the others, and applies theirs.
    async fn share_live(
        self: Arc<Self>,
        live: Arc<LiveConnections>,
        mut shared: mpsc::Receiver<LiveEvent>,
        mut events: async_nats::Subscriber,
        shutdown: CancellationToken,
    ) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                Some(event) = shared.recv() => {
                    let payload = Bytes::from(serde_json::to_vec(&event).expect("events serialize"));
                    self.publish_to_peers(LIVE_SUBJECT, payload).await;
                }
                Some(message) = events.next() => {
                    if self.is_mine(&message) {
                        continue;
                    }
                    match serde_json::from_slice::<LiveEvent>(&message.payload) {
                        Ok(event) => live.apply(event),
                        Err(e) => tracing::warn!(error = %e, "an unreadable live event"),
                    }
                }
            }
        }
    }
}
