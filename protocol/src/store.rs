//! The bodies of the store's staff API (`docs/protocol.md` section 11,
//! "Store staff"): who works for the store, with which role.
//!
//! An owner manages the staff and the settings; owners and agents both see
//! and manage the store's orders (section 12) and answer its customers
//! (section 13). Shoppers may share a cart with the store when its settings
//! allow (section 11, "Sharing with the store").

use serde::{Deserialize, Serialize};

pub use crate::ids::StoreShareId;
use crate::ids::{CartId, UserId};
use crate::messages::MemberRole;

/// A person's role in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum StoreRole {
    /// Manages the staff and the settings, and does everything agents do.
    Owner,
    /// Sees and manages the store's orders and answers its customers.
    Agent,
}

impl StoreRole {
    /// The stable string form, as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Self::Owner),
            "agent" => Some(Self::Agent),
            _ => None,
        }
    }
}

/// One person of the store's staff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StaffMember {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub role: StoreRole,
    /// May change a customer's cart (take it over); always true for owners.
    pub customer_update: bool,
    /// Unix ms.
    pub added_at: i64,
}

/// `GET /api/store/staff`: owners first, then by when they were added.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StaffResponse {
    pub staff: Vec<StaffMember>,
}

/// `POST /api/store/staff`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct AddStaffRequest {
    /// The e-mail of an account.
    pub email: String,
    /// `agent` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<StoreRole>,
    /// Whether an agent may change a customer's cart (take it over); false
    /// when absent. Owners always may.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub customer_update: bool,
}

/// `GET /api/store/role`: the caller's role in the store, `null` for a
/// shopper.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StoreRoleResponse {
    pub store_id: String,
    pub role: Option<StoreRole>,
    /// May change a customer's cart (take it over).
    pub customer_update: bool,
}

/// Whether an agent asks a registered shopper before taking over their
/// cart. Guests always give a help code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TakeoverConsent {
    /// The shopper accepts each takeover.
    Required,
    /// Registered shoppers are not asked.
    WaivedForRegistered,
}

impl TakeoverConsent {
    /// The stable string form, as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::WaivedForRegistered => "waived_for_registered",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "required" => Some(Self::Required),
            "waived_for_registered" => Some(Self::WaivedForRegistered),
            _ => None,
        }
    }
}

/// `GET /api/store/settings` (anyone signed in) and `PUT` (owners): what
/// the store allows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// Shoppers may share their carts with the store.
    pub customer_shares: bool,
    /// Whether an agent asks a registered shopper before taking over their
    /// cart; `required` when absent from a `PUT`.
    #[serde(default = "consent_required")]
    pub takeover_consent: TakeoverConsent,
}

fn consent_required() -> TakeoverConsent {
    TakeoverConsent::Required
}

/// `POST /api/carts/{id}/store-share`: a shopper shares the cart with the
/// store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct StoreShareRequest {
    /// How the staff should call them (1..=60 characters).
    pub name: String,
    /// Where the staff may answer.
    pub email: String,
    /// At most 1,000 characters; may hold line breaks.
    #[serde(default)]
    pub message: String,
}

/// A cart shared with the store, as the staff see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StoreShare {
    pub id: StoreShareId,
    pub cart_id: CartId,
    /// The cart's name, lines and subtotal now.
    pub cart_name: String,
    pub line_count: i64,
    pub subtotal: i64,
    pub name: String,
    pub email: String,
    pub message: String,
    pub created_at: i64,
}

/// `GET /api/store/shared`, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StoreSharesResponse {
    pub shared: Vec<StoreShare>,
}

/// `POST /api/store/shared/{id}/open`: the staff member is a member of the
/// cart now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct OpenSharedResponse {
    pub cart_id: CartId,
    /// The caller's role in it (`editor`, or a higher role they had).
    pub role: MemberRole,
}
