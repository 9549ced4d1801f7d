//! Group checkout on the wire (`docs/protocol.md` sections 5, 6 and 12): the
//! cart's phase, the split plan and addresses that checkout ops carry, the
//! checkout part of the cart's JSON view, the quote, and orders.
//!
//! Money is an integer of minor units (cents) in the cart's currency.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::codes::ErrorCode;
use crate::ids::{CartId, UserId};

/// Where a cart is on its way to an order. `open → locked → (pending_approval
/// → approved) → ordered`; a rejection or an unlock goes back to `open`, a
/// cancelled order too.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CartPhase {
    /// Members fill the cart.
    #[default]
    Open,
    /// Lines are frozen (edits refused with `cart_locked`); the admin
    /// settles addresses, budgets and the split.
    Locked,
    /// An admin asked for approval; everything but unlocking waits.
    PendingApproval,
    /// Approved: the order may be placed.
    Approved,
    /// The order is placed: the cart is read-only.
    Ordered,
}

impl CartPhase {
    /// The stable string form, as stored in the document.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Locked => "locked",
            Self::PendingApproval => "pending_approval",
            Self::Approved => "approved",
            Self::Ordered => "ordered",
        }
    }

    /// Parses the stable string form; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => Self::Open,
            "locked" => Self::Locked,
            "pending_approval" => Self::PendingApproval,
            "approved" => Self::Approved,
            "ordered" => Self::Ordered,
            _ => return None,
        })
    }
}

/// Who pays what (`set_split`). The server computes each share in minor
/// units; the shares always add up to the total (section 12, "Splitting").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SplitPlan {
    /// One member pays everything.
    OnePayer { payer: UserId },
    /// The total is split evenly among these members.
    Even { payers: Vec<UserId> },
    /// Each member pays for the lines they added (or were assigned), and a
    /// share of shipping in proportion.
    ByItem,
    /// These members pay these amounts; `rest` pays what is left.
    Custom {
        amounts: BTreeMap<UserId, i64>,
        rest: UserId,
    },
}

/// A shipping address, as `add_address` sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// What members call it: "Home", "Grandma's".
    pub label: String,
    /// Who receives the parcel.
    pub name: String,
    pub line1: String,
    #[serde(default)]
    pub line2: String,
    pub city: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, e.g. `US`; picks the shipping rate.
    pub country: String,
}

/// A line's group-buy tier, in the JSON view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LineGroupBuy {
    /// The cart's quantity of the product from which `price` applies.
    pub min_quantity: i64,
    /// The unit price once the tier is reached.
    pub price: i64,
    /// The unit price below the tier.
    pub list_price: i64,
    /// Whether the cart has reached the tier (then `unit_price` is `price`).
    pub active: bool,
}

/// The last approval request or decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ApprovalView {
    /// `requested`, `approved` or `rejected`.
    pub status: String,
    pub by: String,
    pub by_name: String,
    pub comment: String,
    pub at: i64,
}

/// A member's spending limit and what they have in the cart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct BudgetView {
    pub user_id: String,
    pub name: String,
    pub amount: i64,
    /// The member's share: the lines they added or were assigned.
    pub spent: i64,
    /// `amount - spent` (negative when a budget was lowered below the share).
    pub left: i64,
}

/// What one member has in the cart (lines they added or were assigned).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct MemberTotal {
    pub user_id: String,
    pub name: String,
    pub total: i64,
}

/// An address of the cart and the quantities of lines shipped to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AddressView {
    pub address_id: String,
    #[serde(flatten)]
    pub address: Address,
    /// Line id → units shipped here.
    pub lines: BTreeMap<String, i64>,
}

/// The placed order, as the cart knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CartOrderView {
    pub order_id: String,
    pub status: OrderStatus,
    pub total: i64,
}

/// The checkout part of a cart's JSON view, read from the document.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CheckoutView {
    pub phase: CartPhase,
    /// Unix ms at which the cart locks by itself.
    pub deadline: Option<i64>,
    /// Orders over this total need approval (the cart's setting).
    pub approval_over: Option<i64>,
    /// The member named to approve or reject besides the admins (user id);
    /// `null` when none is named.
    pub approver: Option<String>,
    pub approver_name: Option<String>,
    pub approval: Option<ApprovalView>,
    /// Sorted by name.
    pub budgets: Vec<BudgetView>,
    /// Each member with lines, sorted by name.
    pub members: Vec<MemberTotal>,
    pub split: Option<SplitPlan>,
    /// Sorted by address id.
    pub addresses: Vec<AddressView>,
    /// Units of lines not shipped to any address (with addresses only).
    pub unassigned: i64,
    pub order: Option<CartOrderView>,
}

/// An order's status: `pending → confirmed → fulfilled`, or `cancelled`
/// (from pending or confirmed; the stock is returned).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Confirmed,
    Fulfilled,
    Cancelled,
}

impl OrderStatus {
    /// The stable string form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Fulfilled => "fulfilled",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses the stable string form.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "confirmed" => Self::Confirmed,
            "fulfilled" => Self::Fulfilled,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }

    /// Whether an order may go from `self` to `next`.
    pub fn may_become(self, next: Self) -> bool {
        matches!(
            (self, next),
            (Self::Pending, Self::Confirmed)
                | (Self::Confirmed, Self::Fulfilled)
                | (Self::Pending | Self::Confirmed, Self::Cancelled)
        )
    }
}

/// One line of a quote: the cart's price and the catalog's now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct QuoteLine {
    pub line_id: String,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    /// The unit price the cart shows (group buy applied).
    pub cart_price: i64,
    /// The unit price the order will charge: the catalog's now, group buy
    /// applied.
    pub unit_price: i64,
    pub line_total: i64,
    /// Who pays for the line when the split is by item.
    pub owner: String,
    pub owner_name: String,
    /// Units in stock now.
    pub stock: i64,
}

/// Shipping to one address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ShippingLine {
    pub address_id: String,
    pub label: String,
    pub units: i64,
    /// The goods shipped there, at order prices.
    pub goods: i64,
    pub amount: i64,
}

/// One payer's share.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ShareView {
    pub user_id: UserId,
    pub name: String,
    pub amount: i64,
}

/// Something that keeps the order from being placed now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Blocker {
    pub code: ErrorCode,
    pub message: String,
}

/// `GET /api/carts/{id}/checkout`: what the order would be if placed now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CheckoutQuote {
    pub cart_id: CartId,
    pub phase: CartPhase,
    pub currency: String,
    pub lines: Vec<QuoteLine>,
    pub subtotal: i64,
    pub shipping: Vec<ShippingLine>,
    pub shipping_total: i64,
    /// `subtotal + shipping_total`: what `place order` must be told to expect.
    pub total: i64,
    /// The lines whose price changed since they were put in the cart.
    pub price_changes: Vec<String>,
    /// The total over which approval is needed (cart setting, else the store's).
    pub approval_over: Option<i64>,
    pub needs_approval: bool,
    pub split: Option<SplitPlan>,
    /// Each payer's share; empty without a plan or when the plan does not fit.
    pub shares: Vec<ShareView>,
    /// Why the order cannot be placed now (empty when it can).
    pub blockers: Vec<Blocker>,
}

/// `POST /api/carts/{id}/order`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct PlaceOrderRequest {
    /// The total the buyer was shown (the quote's `total`). When prices
    /// changed since, the order is refused with `price_changed` and the new
    /// total; send it again to confirm.
    pub expected_total: i64,
}

/// One line of a placed order: prices as charged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct OrderLine {
    pub sku: String,
    pub name: String,
    pub unit_price: i64,
    pub quantity: i64,
    pub line_total: i64,
    pub owner: String,
    pub owner_name: String,
}

/// An address of a placed order and what goes there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct OrderAddress {
    pub address_id: String,
    #[serde(flatten)]
    pub address: Address,
    /// Sku → units.
    pub lines: BTreeMap<String, i64>,
    pub shipping: i64,
}

/// One payer's share of a placed order and how it is paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct OrderShare {
    pub user_id: UserId,
    pub name: String,
    pub amount: i64,
    /// The payment provider's id (`invoice`: pay at pickup or on invoice).
    pub provider: String,
    /// The provider's reference for this payment.
    pub reference: String,
    /// What the payer is asked to do.
    pub instructions: String,
    /// Unix ms when it was paid; `null` while unpaid.
    pub paid_at: Option<i64>,
}

/// A placed order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct OrderView {
    pub id: String,
    pub cart_id: CartId,
    pub cart_name: String,
    pub store_id: String,
    pub status: OrderStatus,
    pub currency: String,
    pub subtotal: i64,
    pub shipping: i64,
    pub total: i64,
    pub placed_by: UserId,
    pub placed_by_name: String,
    pub placed_at: i64,
    pub updated_at: i64,
    pub lines: Vec<OrderLine>,
    /// Empty for an order picked up at the store.
    pub addresses: Vec<OrderAddress>,
    pub split: SplitPlan,
    pub shares: Vec<OrderShare>,
    /// Every share is paid.
    pub paid: bool,
}

/// `GET /api/carts/{id}/orders`, `GET /api/store/orders`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct OrdersResponse {
    /// Newest first.
    pub orders: Vec<OrderView>,
}

/// `POST /api/orders/{id}/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct OrderStatusRequest {
    pub status: OrderStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_and_statuses_round_trip_their_strings() {
        for phase in [
            CartPhase::Open,
            CartPhase::Locked,
            CartPhase::PendingApproval,
            CartPhase::Approved,
            CartPhase::Ordered,
        ] {
            assert_eq!(CartPhase::parse(phase.as_str()), Some(phase));
            assert_eq!(
                serde_json::to_value(phase).unwrap(),
                serde_json::Value::String(phase.as_str().into())
            );
        }
        for status in [
            OrderStatus::Pending,
            OrderStatus::Confirmed,
            OrderStatus::Fulfilled,
            OrderStatus::Cancelled,
        ] {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        assert!(OrderStatus::Pending.may_become(OrderStatus::Cancelled));
        assert!(!OrderStatus::Fulfilled.may_become(OrderStatus::Cancelled));
        assert!(!OrderStatus::Pending.may_become(OrderStatus::Fulfilled));
    }

    #[test]
    fn a_split_plan_is_tagged_by_kind() {
        let plan: SplitPlan = serde_json::from_str(r#"{"kind":"by_item"}"#).unwrap();
        assert_eq!(plan, SplitPlan::ByItem);
        let text = r#"{"kind":"even","payers":["8c1e0f6a-3b2d-4c5e-9f70-1a2b3c4d5e6f"]}"#;
        let plan: SplitPlan = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&plan).unwrap(), text);
    }
}
