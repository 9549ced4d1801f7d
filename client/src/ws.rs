//! One WebSocket to `/ws`, with an Automerge replica per subscribed cart.
//!
//! All reading happens in one place ([`Connection::next_event`] and the
//! waits inside [`Connection::subscribe`], [`Connection::op`], ...): every
//! binary frame is applied to its cart's replica the moment it is read, and
//! anything a wait reads that is not its answer is kept, in order, in a
//! bounded buffer that `next_event` drains first. So no event is lost and a
//! replica is always up to date with everything read so far.
//!
//! `next_event` is cancel-safe (it awaits only the socket read and then works
//! synchronously), so it can sit in a `tokio::select!` beside a timer.
//! Every wait has a deadline ([`ConnectOptions::timeout`]): nothing hangs.
//!
//! A subscription has a stream ([`StreamKind`], [`Connection::subscribe_to`]).
//! On `changes`, a change comes as [`Event::Changes`] and then an `activity`
//! message. On `compact`, a kind-3 frame (one or more changes, each with its
//! activity event) comes as one [`Event::Changes`] followed by one `activity`
//! message per change, as the server would have sent them on `changes`. On
//! `view`, the connection keeps the view ([`Connection::view`]) and applies
//! each `view_patch` to it the moment it is read. An `epoch` message is
//! followed by a document frame, which replaces the replica.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use automerge::Automerge;
use cartroom_protocol::frame::Record;
use cartroom_protocol::{
    ActivityEvent, BinaryFrame, Capability, CartId, ClientMsg, ConnId, ErrorCode, FrameKind, Heads,
    MemberRole, Op, OpId, PresenceEntry, ServerMsg, StreamKind, SyncPayload, UserId,
};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::http::{Account, refusal};

/// How to open a [`Connection`].
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// Source address to bind (e.g. `127.0.0.2`), so that a load test can
    /// open more sockets than one source address has ports.
    pub local_addr: Option<IpAddr>,
    /// Keep an Automerge replica per cart and apply every frame to it. A load
    /// generator may turn this off for most members (frames are then only
    /// counted; [`Connection::last_frame`] still has their bytes).
    pub keep_replicas: bool,
    /// Deadline for every wait (hello, subscribe, op, `next_event`).
    pub timeout: Duration,
    /// Events kept for `next_event` while a wait reads past them; past this,
    /// the oldest are dropped and counted in [`Connection::dropped_events`].
    pub max_buffered_events: usize,
    /// Sent as the `Origin` header when set.
    pub origin: Option<String>,
    /// tungstenite's read buffer (its default, 128 KiB, is a lot per socket
    /// when a load test holds tens of thousands).
    pub read_buffer_size: usize,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            local_addr: None,
            keep_replicas: true,
            timeout: Duration::from_secs(10),
            max_buffered_events: 16 * 1024,
            origin: None,
            read_buffer_size: 8 * 1024,
        }
    }
}

/// Something the server sent.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A JSON message.
    Msg(ServerMsg),
    /// A binary frame for `cart`, already applied to its replica (if this
    /// connection keeps one). For a kind-3 frame, the `activity` messages of
    /// its changes come next.
    Changes { cart: CartId },
    /// The connection ended: the close frame's code and reason, or `None`
    /// when the socket went away without one.
    Closed { code: Option<u16>, reason: String },
}

/// How the server answered an op.
#[derive(Clone, Debug, PartialEq)]
pub enum OpOutcome {
    Acked {
        heads: Heads,
        duplicate: bool,
        /// The id of what the op created (a suggestion's id).
        created: Option<String>,
    },
    Refused {
        code: ErrorCode,
        message: String,
    },
}

impl OpOutcome {
    /// The heads of an ack; an error for a refusal.
    pub fn acked(self) -> anyhow::Result<Heads> {
        match self {
            Self::Acked { heads, .. } => Ok(heads),
            Self::Refused { code, message } => Err(ServerError { code, message }.into()),
        }
    }
}

/// The answer to `subscribe`.
#[derive(Clone, Debug, PartialEq)]
pub struct Subscribed {
    pub role: MemberRole,
    /// What the role allows, as the server says.
    pub capabilities: Vec<Capability>,
    pub payload: SyncPayload,
    pub heads: Heads,
    pub presence: Vec<PresenceEntry>,
    pub activity: Vec<ActivityEvent>,
}

/// An `error` frame that answered a request of this client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerError {
    pub code: ErrorCode,
    pub message: String,
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "server refused: {}: {}", self.code, self.message)
    }
}

impl std::error::Error for ServerError {}

/// The last binary frame read, for callers that look at change bytes
/// themselves (the load tester reads op ids from them).
#[derive(Clone, Debug, Default)]
struct LastFrame {
    kind: Option<FrameKind>,
    cart: Option<CartId>,
    /// The Automerge bytes: of a kind-3 frame, its changes concatenated.
    payload: Vec<u8>,
}

/// One WebSocket connection.
pub struct Connection {
    ws: WebSocketStream<TcpStream>,
    /// From `hello`.
    pub conn_id: ConnId,
    pub user_id: UserId,
    pub name: String,
    options: ConnectOptions,
    replicas: HashMap<CartId, Automerge>,
    /// The views of carts subscribed on the view stream, patched as read.
    views: HashMap<CartId, serde_json::Value>,
    /// Events read by a wait that were not its answer, oldest first.
    buffered: VecDeque<Event>,
    /// Events a read made beyond the one it returned (the activity events
    /// of a kind-3 frame), returned by the next reads, before the socket.
    unread: VecDeque<Event>,
    dropped_events: u64,
    last_frame: LastFrame,
    /// Set once the close (or end of stream) has been read.
    closed: bool,
    /// Prefix of generated op ids, unique per connection.
    op_prefix: String,
    next_op: u64,
}

/// What a wait is looking for; `Some` ends it.
type Matcher<'a, T> = &'a mut (dyn FnMut(&Event) -> Option<T> + Send);

impl Connection {
    /// Opens `/ws` for `account` and waits for `hello`.
    pub async fn connect(account: &Account, options: &ConnectOptions) -> anyhow::Result<Self> {
        let ws_url = if let Some(rest) = account.base_url.strip_prefix("http://") {
            format!("ws://{rest}/ws")
        } else if let Some(rest) = account.base_url.strip_prefix("https://") {
            format!("wss://{rest}/ws")
        } else {
            bail!("base_url must start with http:// ({})", account.base_url);
        };
        let mut request = ws_url.as_str().into_client_request()?;
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {}", account.token))?,
        );
        if let Some(origin) = &options.origin {
            request
                .headers_mut()
                .insert("origin", HeaderValue::from_str(origin)?);
        }
        let host = request
            .uri()
            .authority()
            .context("ws url has no host")?
            .as_str()
            .to_owned();
        let addr: SocketAddr = tokio::net::lookup_host(&host)
            .await?
            .next()
            .with_context(|| format!("cannot resolve {host}"))?;
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if let Some(ip) = options.local_addr {
            socket.bind(SocketAddr::new(ip, 0))?;
        }
        let deadline = Instant::now() + options.timeout;
        let stream = tokio::time::timeout_at(deadline, socket.connect(addr))
            .await
            .context("TCP connect timed out")??;
        stream.set_nodelay(true)?;
        let config = WebSocketConfig::default()
            .read_buffer_size(options.read_buffer_size)
            .write_buffer_size(0)
            .max_message_size(Some(16 << 20))
            .max_frame_size(Some(16 << 20));
        let handshake = tokio_tungstenite::client_async_with_config(request, stream, Some(config));
        let ws = match tokio::time::timeout_at(deadline, handshake)
            .await
            .context("WebSocket handshake timed out")?
        {
            Ok((ws, _response)) => ws,
            Err(tungstenite::Error::Http(resp)) => {
                let body = resp.body().as_deref().unwrap_or_default();
                return Err(refusal(resp.status().as_u16(), body).into());
            }
            Err(e) => return Err(e).context("WebSocket handshake"),
        };
        let mut conn = Connection {
            ws,
            conn_id: ConnId(0),
            user_id: account.user_id,
            name: account.name.clone(),
            options: options.clone(),
            replicas: HashMap::new(),
            views: HashMap::new(),
            buffered: VecDeque::new(),
            unread: VecDeque::new(),
            dropped_events: 0,
            last_frame: LastFrame::default(),
            closed: false,
            op_prefix: format!("{:08x}", uuid::Uuid::new_v4().as_u128() as u32),
            next_op: 0,
        };
        let (conn_id, user_id, name) = conn
            .wait_for(&mut |ev| match ev {
                Event::Msg(ServerMsg::Hello {
                    conn_id,
                    user_id,
                    name,
                    ..
                }) => Some((*conn_id, *user_id, name.clone())),
                _ => None,
            })
            .await
            .context("waiting for hello")?;
        conn.conn_id = conn_id;
        conn.user_id = user_id;
        conn.name = name;
        Ok(conn)
    }

    /// Sends a JSON message as it is.
    pub async fn send(&mut self, msg: &ClientMsg) -> anyhow::Result<()> {
        let text = serde_json::to_string(msg)?;
        self.send_text(text).await
    }

    /// Sends a raw text frame (for malformed-input tests).
    pub async fn send_text(&mut self, text: String) -> anyhow::Result<()> {
        self.ws.send(Message::Text(text.into())).await?;
        Ok(())
    }

    /// Sends a raw binary frame (the server must refuse it, close 1002).
    pub async fn send_binary(&mut self, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.ws.send(Message::Binary(bytes.into())).await?;
        Ok(())
    }

    /// Joins a cart's room on the `changes` stream (protocol v1's); see
    /// [`Connection::subscribe_to`].
    pub async fn subscribe(&mut self, cart: CartId) -> anyhow::Result<Subscribed> {
        self.subscribe_to(cart, StreamKind::Changes).await
    }

    /// Joins a cart's room on `stream`. On `changes` and `compact`, sends the
    /// replica's heads when there is one, so the server sends only what is
    /// missing; applies the binary frame that follows `subscribed` and
    /// checks the replica then has the announced heads. On `view`, reads
    /// the `view` message that follows. A refusal is an `Err` holding a
    /// [`ServerError`].
    pub async fn subscribe_to(
        &mut self,
        cart: CartId,
        stream: StreamKind,
    ) -> anyhow::Result<Subscribed> {
        let heads = match self.replicas.get(&cart) {
            Some(doc) if self.options.keep_replicas && stream != StreamKind::View => {
                Some(heads_of(doc))
            }
            _ => None,
        };
        self.send(&ClientMsg::Subscribe {
            cart_id: cart,
            heads,
            stream: (stream != StreamKind::Changes).then_some(stream),
        })
        .await?;
        let answer = self
            .wait_for(&mut |ev| match ev {
                Event::Msg(ServerMsg::Subscribed {
                    cart_id,
                    role,
                    capabilities,
                    payload,
                    heads,
                    presence,
                    activity,
                }) if *cart_id == cart => Some(Ok(Subscribed {
                    role: *role,
                    capabilities: capabilities.clone(),
                    payload: *payload,
                    heads: heads.clone(),
                    presence: presence.clone(),
                    activity: activity.clone(),
                })),
                Event::Msg(ServerMsg::Error {
                    code,
                    message,
                    cart_id,
                    op_id: None,
                }) if cart_id.is_none_or(|c| c == cart) => Some(Err(ServerError {
                    code: *code,
                    message: message.clone(),
                })),
                _ => None,
            })
            .await
            .context("waiting for subscribed")?;
        let subscribed = answer?;
        if stream == StreamKind::View {
            self.wait_for(&mut |ev| match ev {
                Event::Msg(ServerMsg::View { cart_id, .. }) if *cart_id == cart => Some(()),
                _ => None,
            })
            .await
            .context("waiting for the view after subscribed")?;
            return Ok(subscribed);
        }
        self.wait_for(&mut |ev| match ev {
            Event::Changes { cart: c } if *c == cart => Some(()),
            _ => None,
        })
        .await
        .context("waiting for the binary frame after subscribed")?;
        if self.options.keep_replicas {
            let have = self.heads_hex(cart).sorted();
            let want = subscribed.heads.sorted();
            if have != want {
                bail!(
                    "after subscribe the replica has heads {have:?} but the server announced {want:?}"
                );
            }
        }
        Ok(subscribed)
    }

    /// Leaves a cart's room; the replica is kept (see
    /// [`Connection::forget_replica`]).
    pub async fn unsubscribe(&mut self, cart: CartId) -> anyhow::Result<()> {
        self.send(&ClientMsg::Unsubscribe { cart_id: cart }).await?;
        let answer = self
            .wait_for(&mut |ev| match ev {
                Event::Msg(ServerMsg::Unsubscribed { cart_id, .. }) if *cart_id == cart => {
                    Some(Ok(()))
                }
                Event::Msg(ServerMsg::Error {
                    code,
                    message,
                    cart_id: Some(c),
                    op_id: None,
                }) if *c == cart => Some(Err(ServerError {
                    code: *code,
                    message: message.clone(),
                })),
                _ => None,
            })
            .await
            .context("waiting for unsubscribed")?;
        Ok(answer?)
    }

    /// A fresh op id, unique to this connection.
    pub fn fresh_op_id(&mut self) -> OpId {
        self.next_op += 1;
        OpId(format!("{}-{}", self.op_prefix, self.next_op))
    }

    /// Sends an op with a fresh id and waits for its `ack` or `error`.
    pub async fn op(&mut self, cart: CartId, op: Op) -> anyhow::Result<OpOutcome> {
        let op_id = self.fresh_op_id();
        self.op_with_id(cart, op_id, op).await
    }

    /// Sends an op with the given id and waits for its `ack` or `error`.
    /// When acked, the replica already holds the op's change (the server
    /// sends the change frame before the ack).
    pub async fn op_with_id(
        &mut self,
        cart: CartId,
        op_id: OpId,
        op: Op,
    ) -> anyhow::Result<OpOutcome> {
        self.send(&ClientMsg::Op {
            cart_id: cart,
            op_id: op_id.clone(),
            op,
        })
        .await?;
        self.wait_for(&mut |ev| match ev {
            Event::Msg(ServerMsg::Ack {
                cart_id,
                op_id: id,
                heads,
                duplicate,
                created,
            }) if *cart_id == cart && *id == op_id => Some(OpOutcome::Acked {
                heads: heads.clone(),
                duplicate: *duplicate,
                created: created.clone(),
            }),
            Event::Msg(ServerMsg::Error {
                code,
                message,
                op_id: Some(id),
                ..
            }) if *id == op_id => Some(OpOutcome::Refused {
                code: *code,
                message: message.clone(),
            }),
            _ => None,
        })
        .await
        .with_context(|| format!("waiting for the answer to op {op_id}"))
    }

    /// Sends `ping` and waits for its `pong`.
    pub async fn ping(&mut self) -> anyhow::Result<()> {
        let nonce = serde_json::Value::from(uuid::Uuid::new_v4().as_u128() as u32);
        self.send(&ClientMsg::Ping {
            nonce: Some(nonce.clone()),
        })
        .await?;
        self.wait_for(&mut |ev| match ev {
            Event::Msg(ServerMsg::Pong { nonce: Some(n) }) if *n == nonce => Some(()),
            _ => None,
        })
        .await
        .context("waiting for pong")
    }

    /// The next event: buffered ones first, then from the socket. Errors when
    /// nothing arrives within the timeout, or after [`Event::Closed`] was
    /// returned.
    pub async fn next_event(&mut self) -> anyhow::Result<Event> {
        let d = self.options.timeout;
        self.next_event_timeout(d)
            .await?
            .ok_or_else(|| anyhow!("no event within {d:?}"))
    }

    /// The next event, or `None` when nothing arrives within `d`.
    /// Cancel-safe.
    pub async fn next_event_timeout(&mut self, d: Duration) -> anyhow::Result<Option<Event>> {
        if let Some(ev) = self.buffered.pop_front() {
            return Ok(Some(ev));
        }
        if self.closed {
            bail!("the connection is closed");
        }
        match tokio::time::timeout(d, self.read_one()).await {
            Ok(ev) => ev.map(Some),
            Err(_elapsed) => Ok(None),
        }
    }

    /// Events waiting in the buffer (read by a wait, not yet returned).
    pub fn buffered_events(&self) -> usize {
        self.buffered.len()
    }

    /// Events dropped because the buffer was full.
    pub fn dropped_events(&self) -> u64 {
        self.dropped_events
    }

    /// Whether the close has been read.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The replica of a cart, if this connection keeps one.
    pub fn replica(&self, cart: CartId) -> Option<&Automerge> {
        self.replicas.get(&cart)
    }

    /// The view of a cart subscribed on the view stream: the `view`
    /// message's, with every `view_patch` read so far applied (the JSON of
    /// a [`CartView`](cartroom_protocol::http::CartView)).
    pub fn view(&self, cart: CartId) -> Option<&serde_json::Value> {
        self.views.get(&cart)
    }

    /// The replica's heads as hex, sorted as Automerge returns them (empty
    /// when there is no replica).
    pub fn heads_hex(&self, cart: CartId) -> Heads {
        self.replicas.get(&cart).map(heads_of).unwrap_or_default()
    }

    /// Drops a cart's replica: the next subscribe gets the whole document.
    pub fn forget_replica(&mut self, cart: CartId) {
        self.replicas.remove(&cart);
    }

    /// Takes a replica out (to carry it to another connection).
    pub fn take_replica(&mut self, cart: CartId) -> Option<Automerge> {
        self.replicas.remove(&cart)
    }

    /// Puts a replica in; the next subscribe sends its heads.
    pub fn insert_replica(&mut self, cart: CartId, doc: Automerge) {
        self.replicas.insert(cart, doc);
    }

    /// The most recent binary frame read: its kind, cart and Automerge bytes
    /// (of a kind-3 frame, its changes concatenated).
    pub fn last_frame(&self) -> Option<(FrameKind, CartId, &[u8])> {
        Some((
            self.last_frame.kind?,
            self.last_frame.cart?,
            &self.last_frame.payload,
        ))
    }

    /// Sends a close frame and waits (briefly) for the server's.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
        let deadline = Instant::now() + Duration::from_secs(2);
        while let Ok(Some(Ok(_))) = tokio::time::timeout_at(deadline, self.ws.next()).await {}
    }

    /// Reads until `matcher` accepts an event, buffering everything else.
    async fn wait_for<T>(&mut self, matcher: Matcher<'_, T>) -> anyhow::Result<T> {
        let deadline = Instant::now() + self.options.timeout;
        loop {
            if self.closed {
                bail!("the connection is closed");
            }
            let ev = tokio::time::timeout_at(deadline, self.read_one())
                .await
                .map_err(|_| anyhow!("timed out after {:?}", self.options.timeout))??;
            if let Some(found) = matcher(&ev) {
                return Ok(found);
            }
            let closed = match &ev {
                Event::Closed { code, reason } => Some(format!(
                    "the connection closed (code {code:?}, reason {reason:?})"
                )),
                _ => None,
            };
            self.buffer(ev);
            if let Some(why) = closed {
                bail!(why);
            }
        }
    }

    fn buffer(&mut self, ev: Event) {
        if self.buffered.len() >= self.options.max_buffered_events {
            self.buffered.pop_front();
            self.dropped_events += 1;
        }
        self.buffered.push_back(ev);
    }

    /// Reads one event from the socket and applies binary frames and view
    /// patches. The only await is the socket read, so dropping this future
    /// loses nothing.
    async fn read_one(&mut self) -> anyhow::Result<Event> {
        if let Some(ev) = self.unread.pop_front() {
            return Ok(ev);
        }
        loop {
            let msg = match self.ws.next().await {
                None => {
                    self.closed = true;
                    return Ok(Event::Closed {
                        code: None,
                        reason: "the stream ended".into(),
                    });
                }
                Some(Err(e)) => {
                    self.closed = true;
                    return Ok(Event::Closed {
                        code: None,
                        reason: e.to_string(),
                    });
                }
                Some(Ok(msg)) => msg,
            };
            match msg {
                Message::Text(text) => {
                    let msg: ServerMsg =
                        serde_json::from_str(text.as_str()).with_context(|| {
                            format!("unparseable server message: {}", text.as_str())
                        })?;
                    self.follow_view(&msg)?;
                    return Ok(Event::Msg(msg));
                }
                Message::Binary(bytes) => {
                    let frame = BinaryFrame::decode(&bytes)
                        .map_err(|e| anyhow!("bad binary frame from the server: {e}"))?;
                    let cart = frame.cart_id;
                    self.last_frame.kind = Some(frame.kind);
                    self.last_frame.cart = Some(cart);
                    self.last_frame.payload.clear();
                    if frame.kind == FrameKind::Change {
                        let records = Record::decode_all(frame.payload)
                            .map_err(|e| anyhow!("bad kind-3 frame from the server: {e}"))?;
                        for record in records {
                            let event = record.activity_event().with_context(|| {
                                format!("unparseable activity in a kind-3 frame of cart {cart}")
                            })?;
                            self.last_frame.payload.extend_from_slice(record.change);
                            self.unread.push_back(Event::Msg(ServerMsg::Activity {
                                cart_id: cart,
                                event,
                            }));
                        }
                    } else {
                        self.last_frame.payload.extend_from_slice(frame.payload);
                    }
                    let payload = std::mem::take(&mut self.last_frame.payload);
                    let applied = self.apply(frame.kind, cart, &payload);
                    self.last_frame.payload = payload;
                    applied?;
                    return Ok(Event::Changes { cart });
                }
                Message::Close(frame) => {
                    self.closed = true;
                    let (code, reason) = match frame {
                        Some(f) => (Some(u16::from(f.code)), f.reason.as_str().to_owned()),
                        None => (None, String::new()),
                    };
                    return Ok(Event::Closed { code, reason });
                }
                // tungstenite answers pings by itself.
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            }
        }
    }

    /// Keeps the view of a view-stream subscription: a `view` replaces it,
    /// a `view_patch` is applied to it.
    fn follow_view(&mut self, msg: &ServerMsg) -> anyhow::Result<()> {
        match msg {
            ServerMsg::View { cart_id, view, .. } => {
                self.views.insert(*cart_id, serde_json::to_value(view)?);
            }
            ServerMsg::ViewPatch { cart_id, patch, .. } => {
                let view = self
                    .views
                    .get_mut(cart_id)
                    .with_context(|| format!("a view patch for cart {cart_id} before its view"))?;
                json_patch::patch(view, patch)
                    .with_context(|| format!("applying a view patch of cart {cart_id}"))?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Applies Automerge bytes to the replica: a document replaces it,
    /// changes (kind 2, or kind 3's concatenated) are added to it.
    fn apply(&mut self, kind: FrameKind, cart: CartId, payload: &[u8]) -> anyhow::Result<()> {
        if !self.options.keep_replicas {
            return Ok(());
        }
        match kind {
            FrameKind::Document => {
                let doc = Automerge::load(payload)
                    .with_context(|| format!("loading the document of cart {cart}"))?;
                self.replicas.insert(cart, doc);
            }
            FrameKind::Changes | FrameKind::Change => {
                self.replicas
                    .entry(cart)
                    .or_default()
                    .load_incremental(payload)
                    .with_context(|| format!("applying changes to cart {cart}"))?;
            }
        }
        Ok(())
    }
}

fn heads_of(doc: &Automerge) -> Heads {
    Heads(doc.get_heads().iter().map(|h| h.to_string()).collect())
}
