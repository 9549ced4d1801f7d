//! The `checkout` map read into the mirror (`CartMirror::checkout`) that
//! ops are validated against, and what the mirror derives from it.

use std::collections::{BTreeMap, HashMap};

use automerge::{ObjId, ROOT, ReadDoc};
use cartroom_protocol::ErrorCode;
use cartroom_protocol::checkout::{CartPhase, OrderStatus, SplitPlan};

use super::opt_i64;
use crate::cart::mirror::CartMirror;
use crate::cart::schema::{get_i64, get_string, map_obj};
use crate::refusal::Refusal;

/// A member's spending limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::cart) struct Budget {
    pub(in crate::cart) amount: i64,
    pub(in crate::cart) name: String,
}

/// One shipping address and what is shipped to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::cart) struct AddressMirror {
    pub(in crate::cart) obj: ObjId,
    pub(in crate::cart) lines_obj: ObjId,
    pub(in crate::cart) label: String,
    /// Line id → units.
    pub(in crate::cart) lines: BTreeMap<String, i64>,
}

/// The checkout state of a cart, as ops are validated against it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckoutMirror {
    /// `root.checkout`, once a checkout op has made it.
    pub(in crate::cart) obj: Option<ObjId>,
    pub(in crate::cart) phase: CartPhase,
    pub(in crate::cart) deadline: Option<i64>,
    /// The deadline the members were last reminded of.
    pub(in crate::cart) reminded: Option<i64>,
    pub(in crate::cart) approval_over: Option<i64>,
    /// The named approver's user id.
    pub(in crate::cart) approver: Option<String>,
    pub(in crate::cart) budgets_obj: Option<ObjId>,
    /// By user id.
    pub(in crate::cart) budgets: BTreeMap<String, Budget>,
    pub(in crate::cart) split: Option<SplitPlan>,
    pub(in crate::cart) addresses_obj: Option<ObjId>,
    pub(in crate::cart) addresses: BTreeMap<String, AddressMirror>,
    /// `(order id, status)` once an order was placed.
    pub(in crate::cart) order: Option<(String, OrderStatus)>,
}

impl CheckoutMirror {
    pub(in crate::cart) fn load<R: ReadDoc>(doc: &R) -> Result<Self, Refusal> {
        let Some(obj) = map_obj(doc, &ROOT, "checkout")? else {
            return Ok(Self::default());
        };
        let mut mirror = Self {
            phase: read_phase(doc, &obj)?,
            deadline: opt_i64(doc, &obj, "deadline")?,
            reminded: opt_i64(doc, &obj, "reminded")?,
            approval_over: opt_i64(doc, &obj, "approval_over")?,
            approver: Some(get_string(doc, &obj, "approver")?).filter(|a| !a.is_empty()),
            split: read_split(doc, &obj)?,
            ..Self::default()
        };
        if let Some(budgets_obj) = map_obj(doc, &obj, "budgets")? {
            for user in doc.keys(&budgets_obj) {
                let Some(b) = map_obj(doc, &budgets_obj, &user)? else {
                    continue;
                };
                let budget = Budget {
                    amount: get_i64(doc, &b, "amount")?,
                    name: get_string(doc, &b, "name")?,
                };
                mirror.budgets.insert(user, budget);
            }
            mirror.budgets_obj = Some(budgets_obj);
        }
        if let Some(addresses_obj) = map_obj(doc, &obj, "addresses")? {
            for id in doc.keys(&addresses_obj) {
                let Some(a) = map_obj(doc, &addresses_obj, &id)? else {
                    continue;
                };
                let lines_obj = map_obj(doc, &a, "lines")?.ok_or_else(|| {
                    Refusal::new(ErrorCode::Internal, "an address has no lines map")
                })?;
                let mut lines = BTreeMap::new();
                for line in doc.keys(&lines_obj) {
                    lines.insert(line.clone(), get_i64(doc, &lines_obj, &line)?);
                }
                let address = AddressMirror {
                    label: get_string(doc, &a, "label")?,
                    obj: a,
                    lines_obj,
                    lines,
                };
                mirror.addresses.insert(id, address);
            }
            mirror.addresses_obj = Some(addresses_obj);
        }
        if let Some(order) = map_obj(doc, &obj, "order")? {
            let status = OrderStatus::parse(&get_string(doc, &order, "status")?)
                .unwrap_or(OrderStatus::Pending);
            mirror.order = Some((get_string(doc, &order, "id")?, status));
        }
        mirror.obj = Some(obj);
        Ok(mirror)
    }
}

pub(super) fn read_phase<R: ReadDoc>(doc: &R, checkout: &ObjId) -> Result<CartPhase, Refusal> {
    Ok(CartPhase::parse(&get_string(doc, checkout, "phase")?).unwrap_or_default())
}

/// The split plan is stored as the JSON `set_split` carried.
pub(super) fn read_split<R: ReadDoc>(
    doc: &R,
    checkout: &ObjId,
) -> Result<Option<SplitPlan>, Refusal> {
    let text = get_string(doc, checkout, "split")?;
    if text.is_empty() {
        return Ok(None);
    }
    Ok(serde_json::from_str(&text).ok())
}

impl CartMirror {
    /// The cart's phase.
    pub fn phase(&self) -> CartPhase {
        self.checkout.phase
    }

    /// When the cart locks by itself, if a deadline is set.
    pub fn deadline(&self) -> Option<i64> {
        self.checkout.deadline
    }

    /// What each member's lines come to (the lines they added or were
    /// assigned), by user id.
    pub(in crate::cart) fn shares(&self) -> HashMap<&str, i64> {
        let mut shares = HashMap::new();
        for line in self.lines.values() {
            *shares.entry(line.owner()).or_default() += line.line_total();
        }
        shares
    }
}
