//! Use cases: what a request means, orchestrating the store and the rooms.
//! No SQL and no HTTP types here; the edges (`http/`, `ws/`) translate.
//!
//! # Layout
//! - [`accounts`]: sign-up, sign-in, guests, sessions.
//! - [`carts`]: create, list, read, edit through the room, delete.
//! - [`members`]: who is in a cart; changes reach the room at once.
//! - [`live`]: the live connections of this node, so that a sign-out ends them.
//! - [`error`]: what a use case answers when it fails.

pub mod accounts;
pub mod carts;
pub mod error;
pub mod live;
pub mod members;

use std::sync::Arc;

pub use accounts::{AccountService, Session};
pub use carts::CartService;
pub use error::ServiceError;
pub use live::LiveConnections;
pub use members::MemberService;

use crate::catalog::CatalogHandle;
use crate::room::Rooms;
use crate::store::Health;

/// Every use case of a node, as the edges reach them.
pub struct Services {
    pub accounts: AccountService,
    pub carts: CartService,
    pub members: MemberService,
    pub catalog: CatalogHandle,
    pub live: Arc<LiveConnections>,
    pub rooms: Arc<Rooms>,
    pub health: Arc<dyn Health>,
}
