//! Use cases: what a request means, orchestrating the store and the rooms.
//! No SQL and no HTTP types here; the edges (`http/`, `ws/`) translate.
//!
//! # Layout
//! - [`accounts`]: sign-up, sign-in, guests, sessions.
//! - [`analytics`]: the store owner's figures by day.
//! - [`back_office`]: the store API: keys, catalog and customer sync, order export.
//! - [`carts`]: create, list, read, edit through the room, delete.
//! - [`members`]: who is in a cart; changes reach the room at once.
//! - [`sharing`]: invitations by e-mail and share links, accepted with a token.
//! - [`password_reset`]: a new password through a single-use e-mailed link.
//! - [`checkout`]: the quote of a cart, and placing its order.
//! - [`orders`]: placed orders: statuses, payments, carts kept in step.
//! - [`deadlines`]: the timer that locks carts at their deadline.
//! - [`staff`]: the store's owners and staff, managed by the owners.
//! - [`offers`]: carts the staff send to customers, taken live or as a copy.
//! - [`store_shares`]: carts shoppers share with the store.
//! - [`support`]: the support desk's conversations, messages and cart tips.
//! - [`takeover`], [`panel`], [`history`]: the support desk's side of carts:
//!   takeovers and help codes, the cart panel, a cart at an earlier moment.
//! - [`feed`]: what a service tells a cart's room and a joiner's connections.
//! - [`live`]: the live connections of this node, so that a sign-out ends them.
//! - [`error`]: what a use case answers when it fails.

pub mod accounts;
pub mod analytics;
pub mod back_office;
pub mod carts;
pub mod checkout;
pub mod deadlines;
pub mod error;
pub mod feed;
pub mod history;
pub mod live;
pub mod members;
pub mod offers;
pub mod orders;
pub mod panel;
pub mod password_reset;
pub mod reach;
pub mod sharing;
pub mod staff;
pub mod store_shares;
pub mod support;
pub mod takeover;
pub mod totp;

use std::sync::Arc;

pub use accounts::{AccountService, Session};
pub use carts::CartService;
pub use checkout::CheckoutService;
pub use deadlines::DeadlineTimer;
pub use error::ServiceError;
pub use feed::Feed;
pub use live::{LiveConnections, LiveEvent};
pub use members::MemberService;
pub use offers::OfferService;
pub use orders::OrderService;
pub use password_reset::PasswordResetService;
pub use sharing::SharingService;
pub use staff::StaffService;
pub use store_shares::StoreShareService;
pub use totp::TotpService;

use crate::catalog::Catalogs;
use crate::room::Rooms;
use crate::store::Health;

/// Every use case of a node, as the edges reach them.
pub struct Services {
    pub accounts: AccountService,
    pub carts: CartService,
    pub members: MemberService,
    /// Invitations by e-mail and share links.
    pub sharing: SharingService,
    pub password_reset: PasswordResetService,
    /// Quotes and places orders.
    pub checkout: CheckoutService,
    /// Placed orders.
    pub orders: Arc<OrderService>,
    /// Locks carts at their deadline.
    pub deadlines: Arc<DeadlineTimer>,
    /// The store's owners and staff.
    pub staff: Arc<StaffService>,
    /// Carts the staff send to customers.
    pub offers: OfferService,
    /// Carts shoppers share with the store.
    pub store_shares: StoreShareService,
    /// Support desk: customers, conversations, messages and tips.
    pub support: Arc<support::SupportService>,
    /// Two-factor sign-in: enrolment and codes.
    pub totp: Arc<TotpService>,
    /// Support desk: takeovers, help codes, staff access to customers' carts.
    pub takeovers: Arc<takeover::TakeoverService>,
    /// Support desk: the cart panel beside a conversation.
    pub panel: panel::PanelService,
    /// The store owner's figures.
    pub analytics: analytics::AnalyticsService,
    /// The store API: keys, catalog and customer sync, order export.
    pub back_office: Arc<back_office::BackOfficeService>,
    /// The store's webhook endpoints and their delivery log.
    pub webhooks: Arc<crate::integrations::webhooks::WebhookService>,
    pub catalogs: Catalogs,
    pub live: Arc<LiveConnections>,
    pub rooms: Arc<Rooms>,
    pub health: Arc<dyn Health>,
}
