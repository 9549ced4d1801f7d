//! Webhooks (`docs/protocol.md` section 15): a store's owner registers
//! endpoints (URL, events); the server POSTs each event to each endpoint
//! subscribed to it, signed with the endpoint's secret, at least once.
//!
//! Events are rows of an outbox written in the transaction of what caused
//! them (`store::sqlite::webhooks`), so a committed order, share or cart
//! change always has its event, and a rolled-back one never does. The
//! [`worker`] claims what is due, delivers with bounded concurrency and
//! records each attempt; a failure is retried with exponential back-off
//! and full jitter until a day (configurable) after the event, then the
//! endpoint is disabled and the store's owners get an e-mail. A delivery
//! cut by a crash is claimed again at the next start, with the same event
//! id, so receivers de-duplicate by it.
//!
//! # Layout
//! - [`service`]: the owner's endpoints: validation, secrets, the log.
//! - [`worker`]: the delivery loop and the retry schedule.
//! - [`send`]: one signed POST, with bounded time and response size.
//! - [`sign`]: secrets and the `v1` signature.
//! - [`targets`]: public addresses only, unless private ones are allowed.
//! - [`mail`]: the e-mail telling owners an endpoint was disabled.

pub mod mail;
pub mod send;
pub mod service;
pub mod sign;
pub mod targets;
pub mod worker;

pub use service::WebhookService;
pub use targets::Targets;
pub use worker::{RetryPolicy, WebhookWorker};

/// The web client's back-office page (its webhooks), linked from the e-mail.
pub const WEBHOOKS_PAGE: &str = "#/backoffice";
