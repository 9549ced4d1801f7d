//! The money rules of group checkout, pure: how a total is split among
//! payers ([`split`]), what shipping costs ([`shipping`]), and how shares
//! are paid ([`payment`]). The services put them together with the cart's
//! view, the catalog and the store; the cart's own checkout state (phase,
//! budgets, addresses) lives in the document (`cart::checkout`).
//!
//! # Layout
//! - [`split`]: shares in minor units that add up exactly, the remainder rule.
//! - [`shipping`]: the store's rate table.
//! - [`payment`]: the payment-provider trait and the local provider.

pub mod payment;
pub mod shipping;
pub mod split;

pub use payment::{PayAtPickup, PaymentProvider};
pub use shipping::{RateTable, ShippingRate};
pub use split::{SplitError, SplitInput, split};
