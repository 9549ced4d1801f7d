//! Cartroom: a real-time collaborative shopping-cart server.
//!
//! Each cart is an Automerge document owned by one room task. Clients send
//! operations (`add_line`, `vote`, ...) over a WebSocket or HTTP; the room
//! checks the sender's role against the [`policy`] and the op against the
//! catalog, applies it as one Automerge change, has the change log make it
//! durable, and only then acks it and broadcasts the change to everyone in
//! the room.
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
//! One folder per concept; `docs/architecture.md` has the map with what
//! each may not touch.
//! - [`app`]: the composition root ([`Server`], [`run`]); [`serve`]: the
//!   accept loop with its bounds; [`config`]: flags and `CARTROOM_*` variables.
//! - [`cart`]: the document, pure: ops, mirror, view, activity sentences.
//! - [`room`]: the engine, one task per loaded cart; knows only its
//!   [`RoomEnv`](room::RoomEnv) and its subscribers.
//! - [`policy`]: who may do what; [`refusal`]: refusals with stable codes.
//! - [`services`]: use cases (accounts, carts, members, sharing) over store and rooms.
//!   Checkout: [`services::checkout`], [`services::orders`], [`services::deadlines`].
//! - [`checkout`]: the money rules of group checkout (split, shipping,
//!   payment providers), pure.
//! - [`mail`]: the outbox worker and where e-mails go (SMTP or the dev mailbox).
//! - [`integrations`]: what leaves for other systems from an outbox, off the
//!   ack path: webhooks.
//! - [`http`], [`ws`]: the edges; thin handlers and the socket halves.
//! - [`store`]: one trait per aggregate; `sqlite/`, `postgres/` and `memory/` implement them.
//! - [`cluster`]: many nodes on one Postgres: cart leases.
//! - [`catalog`], [`auth`], [`money`], [`clock`], [`text`], [`wake`]: what
//!   the others share (text: which characters shown text may hold; wake:
//!   waiting on a store's wake-up, where it gives one).

pub mod app;
pub mod auth;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod clock;
pub mod cluster;
pub mod compose;
pub mod config;
pub mod http;
pub mod integrations;
pub mod mail;
pub mod money;
pub mod policy;
pub mod refusal;
pub mod room;
pub mod seed;
pub mod serve;
pub mod services;
pub mod store;
pub mod text;
pub mod wake;
pub mod ws;

pub use app::{Server, StartError, run};
pub use config::Config;
