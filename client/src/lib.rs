//! A Cartroom client: the HTTP API and one WebSocket that keeps an Automerge
//! replica per subscribed cart. The end-to-end tests and the load tester use
//! it against the real server over real sockets.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use cartroom_client::{Account, OpOutcome};
//! use cartroom_protocol::Op;
//!
//! let ana = Account::sign_up("http://127.0.0.1:8080", "ana@example.com", "correct horse", "Ana").await?;
//! let cart = ana.create_cart("Weekend BBQ").await?;
//! let mut conn = ana.connect().await?;
//! conn.subscribe(cart).await?;
//! let outcome = conn.op(cart, Op::AddLine { sku: "MUG-BLUE".into(), quantity: 2 }).await?;
//! assert!(matches!(outcome, OpOutcome::Acked { .. }));
//! let view = cartroom_client::cart_view(conn.replica(cart).unwrap());
//! assert_eq!(view.lines[0].quantity, 2);
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`http`]: [`Account`] (sign-up, sign-in, guests, carts, members) and
//!   [`ApiError`], which carries the HTTP status and the stable error code.
//! - [`ws`]: [`Connection`], one WebSocket: subscriptions on any stream
//!   (`changes`, `compact`, `view`), ops, events, the replicas and the
//!   views; [`ServerError`] for refusals sent as `error` frames.
//! - [`view`]: [`cart_view`], the view of a replica, as `GET /api/carts/{id}`
//!   gives the server's.
//! - [`checkout`]: the checkout part of a replica's view, and the checkout
//!   and order calls of [`Account`].
//! - [`offers`]: carts the store's staff send to customers (send, list,
//!   look up, accept live or as a copy).
//! - [`store`]: the store's staff calls of [`Account`] (role, list, add,
//!   remove).
//! - [`chunks`]: splitting concatenated Automerge changes, reading who made
//!   each one (its change message), without a replica.

pub mod checkout;
pub mod chunks;
pub mod http;
pub mod offers;
pub mod store;
pub mod view;
pub mod ws;

pub use http::{Account, ApiError, api_error};
pub use view::cart_view;
pub use ws::{ConnectOptions, Connection, Event, OpOutcome, ServerError, Subscribed};
