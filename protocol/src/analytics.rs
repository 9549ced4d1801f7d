//! The store owner's analytics (`docs/protocol.md` section 16): carts,
//! sharing, collaboration, orders, invitations and share links, by day in
//! the store's time zone, for a chosen period.
//!
//! Every figure is counted from what the server stores anyway (carts,
//! members, the activity feed, orders, invitations, share links and their
//! uses, share-link opens); section 16 says which table each one comes
//! from and which day a row belongs to.

use serde::{Deserialize, Serialize};

use crate::ids::{CartId, LinkId};

/// The longest period one request covers, in days (`from` and `to` included).
pub const MAX_PERIOD_DAYS: i64 = 366;

/// The most share links one answer lists (the newest of the period).
pub const MAX_LINK_ROWS: usize = 100;

/// The activity kinds that are edits: every operation a member sends
/// (`Op::kind`). Chat, membership changes and what the server does by
/// itself (orders, deadlines) are not edits.
pub const EDIT_KINDS: &[&str] = &[
    "add_line",
    "change_quantity",
    "set_quantity",
    "remove_line",
    "set_line_note",
    "set_cart_note",
    "suggest",
    "vote",
    "accept_suggestion",
    "reject_suggestion",
    "withdraw_suggestion",
    "rename",
    "lock",
    "unlock",
    "set_deadline",
    "set_budget",
    "assign_line",
    "set_approval_threshold",
    "set_approver",
    "request_approval",
    "approve",
    "reject",
    "set_split",
    "add_address",
    "remove_address",
    "set_allocation",
];

/// Counts for one day, or added up for the period.
///
/// The cart figures (`carts` to `edits`) are about the carts created that
/// day, as they are now: a cart created on Monday and ordered on Wednesday
/// counts as ordered on Monday. The event figures (`invitations_sent` to
/// `link_joins`) count what happened that day.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Figures {
    /// Carts created.
    pub carts: i64,
    /// Of those, carts with two or more members.
    pub shared_carts: i64,
    /// Of those, carts with two or more members who edited.
    pub collaborative_carts: i64,
    /// Of those, carts with an order that is not cancelled.
    pub ordered_carts: i64,
    /// The totals of those orders, in minor units of the store's currency.
    pub order_value: i64,
    /// Of the ordered carts, the shared ones.
    pub shared_ordered_carts: i64,
    /// The totals of the shared carts' orders.
    pub shared_order_value: i64,
    /// The members of the carts created.
    pub members: i64,
    /// The edits those members made in them.
    pub edits: i64,
    /// Invitations by e-mail created that day.
    pub invitations_sent: i64,
    /// Invitations accepted that day.
    pub invitations_accepted: i64,
    /// Times a share link's page was opened (the token looked up while the
    /// link was usable).
    pub link_opens: i64,
    /// People who joined a cart with a share link.
    pub link_joins: i64,
}

/// One day of the period: its date in the store's time zone and its figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DayFigures {
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// Ratios of the period's totals; `null` when nothing is there to divide by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Rates {
    /// `shared_carts / carts`.
    pub shared_rate: Option<f64>,
    /// `collaborative_carts / carts`.
    pub collaboration_rate: Option<f64>,
    /// `ordered_carts / carts`.
    pub conversion: Option<f64>,
    /// `order_value / ordered_carts`, rounded to the nearest minor unit.
    pub average_order_value: Option<i64>,
    /// `edits / members`.
    pub edits_per_member: Option<f64>,
}

/// Shared or single-person carts of the period, side by side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Segment {
    pub carts: i64,
    pub ordered_carts: i64,
    pub order_value: i64,
    /// `ordered_carts / carts`.
    pub conversion: Option<f64>,
    /// `order_value / ordered_carts`, rounded to the nearest minor unit.
    pub average_order_value: Option<i64>,
}

/// Carts with two or more members, and carts with one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Segments {
    pub shared: Segment,
    pub single: Segment,
}

/// One share link created in the period, with what it brought so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LinkFigures {
    pub link_id: LinkId,
    pub cart_id: CartId,
    pub cart_name: String,
    /// Unix ms.
    pub created_at: i64,
    pub opens: i64,
    pub joins: i64,
    /// 1 when the link's cart has an order (not cancelled) placed after
    /// someone joined with the link, else 0.
    pub orders: i64,
}

/// `GET /api/store/analytics?store=&from=&to=`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AnalyticsResponse {
    pub store_id: String,
    /// The IANA time zone the days are in.
    pub time_zone: String,
    /// The currency of every amount.
    pub currency: String,
    /// The first day, `YYYY-MM-DD`.
    pub from: String,
    /// The last day (included).
    pub to: String,
    /// Every day of the period, in order, zeros included.
    pub days: Vec<DayFigures>,
    /// The days added up.
    pub totals: Figures,
    pub rates: Rates,
    pub segments: Segments,
    /// Share links created in the period, newest first, at most
    /// [`MAX_LINK_ROWS`].
    pub links: Vec<LinkFigures>,
    /// How many share links were created in the period.
    pub links_total: i64,
}

#[cfg(test)]
mod tests {
    use super::EDIT_KINDS;
    use crate::checkout::{Address, SplitPlan};
    use crate::ids::{LineId, SuggestionId, UserId};
    use crate::messages::Op;

    /// Names every op, so that a new one does not compile here until it is
    /// given a sample below, and is so checked against [`EDIT_KINDS`].
    fn named(op: &Op) {
        match op {
            Op::AddLine { .. }
            | Op::ChangeQuantity { .. }
            | Op::SetQuantity { .. }
            | Op::RemoveLine { .. }
            | Op::SetLineNote { .. }
            | Op::SetCartNote { .. }
            | Op::Suggest { .. }
            | Op::Vote { .. }
            | Op::AcceptSuggestion { .. }
            | Op::RejectSuggestion { .. }
            | Op::WithdrawSuggestion { .. }
            | Op::Rename { .. }
            | Op::Lock
            | Op::Unlock
            | Op::SetDeadline { .. }
            | Op::SetBudget { .. }
            | Op::AssignLine { .. }
            | Op::SetApprovalThreshold { .. }
            | Op::SetApprover { .. }
            | Op::RequestApproval
            | Op::Approve { .. }
            | Op::Reject { .. }
            | Op::SetSplit { .. }
            | Op::AddAddress { .. }
            | Op::RemoveAddress { .. }
            | Op::SetAllocation { .. } => {}
        }
    }

    #[test]
    fn every_op_a_member_sends_is_an_edit() {
        let line = || LineId("MUG".into());
        let suggestion = || SuggestionId("s-1".into());
        let user = UserId(uuid::Uuid::nil());
        let ops = [
            Op::AddLine {
                sku: "MUG".into(),
                quantity: 1,
            },
            Op::ChangeQuantity {
                line_id: line(),
                delta: 1,
            },
            Op::SetQuantity {
                line_id: line(),
                quantity: 1,
            },
            Op::RemoveLine { line_id: line() },
            Op::SetLineNote {
                line_id: line(),
                note: String::new(),
            },
            Op::SetCartNote {
                note: String::new(),
            },
            Op::Suggest {
                sku: "MUG".into(),
                quantity: 1,
                note: None,
            },
            Op::Vote {
                suggestion_id: suggestion(),
                value: 1,
            },
            Op::AcceptSuggestion {
                suggestion_id: suggestion(),
            },
            Op::RejectSuggestion {
                suggestion_id: suggestion(),
            },
            Op::WithdrawSuggestion {
                suggestion_id: suggestion(),
            },
            Op::Rename {
                name: "Cart".into(),
            },
            Op::Lock,
            Op::Unlock,
            Op::SetDeadline { at: None },
            Op::SetBudget {
                user_id: user,
                amount: None,
            },
            Op::AssignLine {
                line_id: line(),
                user_id: None,
            },
            Op::SetApprovalThreshold { amount: None },
            Op::SetApprover { user_id: None },
            Op::RequestApproval,
            Op::Approve { comment: None },
            Op::Reject {
                comment: String::new(),
            },
            Op::SetSplit {
                plan: SplitPlan::ByItem,
            },
            Op::AddAddress {
                address: Address {
                    label: String::new(),
                    name: String::new(),
                    line1: String::new(),
                    line2: String::new(),
                    city: String::new(),
                    postal_code: String::new(),
                    country: "US".into(),
                },
            },
            Op::RemoveAddress {
                address_id: String::new(),
            },
            Op::SetAllocation {
                address_id: String::new(),
                line_id: line(),
                quantity: 0,
            },
        ];
        ops.iter().for_each(named);
        let mut kinds: Vec<&str> = ops.iter().map(Op::kind).collect();
        let mut listed = EDIT_KINDS.to_vec();
        kinds.sort_unstable();
        listed.sort_unstable();
        assert_eq!(kinds, listed);
    }
}
