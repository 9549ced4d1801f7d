//! What the room knows of its document without reading it.
//!
//! Automerge map lookups cost time proportional to an object's history, so
//! validating an op by reading the document gets slower with every change (a
//! line's quantity counter may carry thousands of increments). The mirror is
//! built once from the document and kept in step by [`apply_op`](super::apply_op),
//! the only writer.

use std::collections::{HashMap, HashSet};

use automerge::{Automerge, ObjId, ROOT, ReadDoc};
use cartroom_protocol::{ErrorCode, UserId};

use super::apply::Totals;
use super::checkout::{CheckoutMirror, opt_i64, read_assignee, read_tier, unit_price};
use super::schema::{get_i64, get_string, map_obj, root_map};
use crate::refusal::Refusal;

/// The validated state of one cart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CartMirror {
    pub(super) lines_obj: ObjId,
    pub(super) suggestions_obj: ObjId,
    pub(super) name: String,
    pub(super) currency: String,
    pub(super) subtotal: i64,
    pub(super) lines: HashMap<String, LineMirror>,
    pub(super) suggestions: HashMap<String, SuggestionMirror>,
    /// Phase, deadline, budgets, split, addresses (`cart::checkout`).
    pub(super) checkout: CheckoutMirror,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct LineMirror {
    pub(super) obj: ObjId,
    pub(super) name: String,
    /// The catalog's price when the line was made.
    pub(super) list_price: i64,
    pub(super) quantity: i64,
    /// `(min_quantity, price)` of the product's group-buy tier.
    pub(super) group_buy: Option<(i64, i64)>,
    /// User id of who first added the line.
    pub(super) added_by: String,
    /// `(user id, name)` of who pays for it instead (`assign_line`).
    pub(super) assigned: Option<(String, String)>,
    /// Units of the product left, once few or none are (`ops::catalog`).
    pub(super) stock_left: Option<i64>,
}

impl LineMirror {
    /// The unit price paid now: the group-buy price once the tier is reached.
    pub(super) fn unit_price(&self) -> i64 {
        unit_price(self.list_price, self.group_buy, self.quantity)
    }

    pub(super) fn line_total(&self) -> i64 {
        self.unit_price() * self.quantity
    }

    /// User id of who pays for the line (by item) and whose budget it counts against.
    pub(super) fn owner(&self) -> &str {
        self.assigned
            .as_ref()
            .map_or(&self.added_by, |(user, _)| user)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct SuggestionMirror {
    pub(super) obj: ObjId,
    pub(super) votes_obj: ObjId,
    pub(super) sku: String,
    pub(super) name: String,
    pub(super) quantity: i64,
    pub(super) by_name: String,
    pub(super) voters: HashSet<String>,
}

impl CartMirror {
    /// Reads the mirror from the document (once, when a room loads).
    pub fn load(doc: &Automerge) -> Result<Self, Refusal> {
        let lines_obj = root_map(doc, "lines")?;
        let suggestions_obj = root_map(doc, "suggestions")?;
        let mut lines = HashMap::new();
        for key in doc.keys(&lines_obj) {
            let Some(obj) = map_obj(doc, &lines_obj, &key)? else {
                continue;
            };
            let line = LineMirror {
                name: get_string(doc, &obj, "name")?,
                list_price: get_i64(doc, &obj, "unit_price")?,
                quantity: get_i64(doc, &obj, "quantity")?,
                group_buy: read_tier(doc, &obj)?,
                added_by: get_string(doc, &obj, "added_by")?,
                assigned: read_assignee(doc, &obj)?,
                stock_left: opt_i64(doc, &obj, "stock_left")?,
                obj,
            };
            lines.insert(key, line);
        }
        let mut suggestions = HashMap::new();
        for key in doc.keys(&suggestions_obj) {
            let Some(obj) = map_obj(doc, &suggestions_obj, &key)? else {
                continue;
            };
            let votes_obj = map_obj(doc, &obj, "votes")?
                .ok_or_else(|| Refusal::new(ErrorCode::Internal, "suggestion has no votes map"))?;
            let suggestion = SuggestionMirror {
                sku: get_string(doc, &obj, "sku")?,
                name: get_string(doc, &obj, "name")?,
                quantity: get_i64(doc, &obj, "quantity")?,
                by_name: get_string(doc, &obj, "by_name")?,
                voters: doc.keys(&votes_obj).collect(),
                votes_obj,
                obj,
            };
            suggestions.insert(key, suggestion);
        }
        let mut mirror = Self {
            lines_obj,
            suggestions_obj,
            name: get_string(doc, &ROOT, "name")?,
            currency: get_string(doc, &ROOT, "currency")?,
            subtotal: 0,
            lines,
            suggestions,
            checkout: CheckoutMirror::load(doc)?,
        };
        mirror.recompute_subtotal();
        Ok(mirror)
    }

    /// The cart's subtotal in minor units.
    pub fn subtotal(&self) -> i64 {
        self.subtotal
    }

    /// The cart's currency code.
    pub fn currency(&self) -> &str {
        &self.currency
    }

    /// Whether `user` is the cart's named approver (`checkout.approver`).
    /// Whether they are still a member is the room's business.
    pub fn is_named_approver(&self, user: UserId) -> bool {
        self.checkout.approver.as_deref() == Some(user.to_string().as_str())
    }

    /// The subtotal is derived, not stored in the document: a root field
    /// rewritten by every op would double the cost of each change.
    /// A line pays its group-buy price once the tier is reached.
    pub(super) fn recompute_subtotal(&mut self) {
        self.subtotal = self.lines.values().map(LineMirror::line_total).sum();
    }

    pub(super) fn line(&self, line_id: &str) -> Result<&LineMirror, Refusal> {
        self.lines.get(line_id).ok_or_else(|| no_line(line_id))
    }

    pub(super) fn line_mut(&mut self, line_id: &str) -> Result<&mut LineMirror, Refusal> {
        self.lines.get_mut(line_id).ok_or_else(|| no_line(line_id))
    }

    pub(super) fn suggestion(&self, id: &str) -> Result<&SuggestionMirror, Refusal> {
        self.suggestions.get(id).ok_or_else(no_suggestion)
    }

    pub(super) fn suggestion_mut(&mut self, id: &str) -> Result<&mut SuggestionMirror, Refusal> {
        self.suggestions.get_mut(id).ok_or_else(no_suggestion)
    }

    pub(super) fn totals(&self) -> Totals {
        Totals {
            name: self.name.clone(),
            subtotal: self.subtotal,
            line_count: self.lines.len() as i64,
            currency: self.currency.clone(),
            lock_deadline: self.checkout.deadline,
        }
    }
}

fn no_line(line_id: &str) -> Refusal {
    Refusal::new(
        ErrorCode::LineNotFound,
        format!("no line {line_id} in this cart"),
    )
}

fn no_suggestion() -> Refusal {
    Refusal::new(ErrorCode::SuggestionNotFound, "no such open suggestion")
}
