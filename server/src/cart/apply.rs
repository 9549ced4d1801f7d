//! Applying one op: check its fields, then make one Automerge change under
//! the actor's id, keeping the mirror in step. A refusal changes neither.

use std::collections::HashMap;

use automerge::{Automerge, ReadDoc};
use cartroom_protocol::checkout::CartPhase;
use cartroom_protocol::limits::{MAX_NOTE_CHARS, MAX_SKU_LEN, QUANTITY_RANGE};
use cartroom_protocol::{ErrorCode, Op, OpId, UserId};

use super::actor::{Actor, NodeId};
use super::checkout::{Overrun, check_budgets, group_buy_notes, newly_over_budget};
use super::mirror::CartMirror;
use super::ops::{self, Done, Tx};
use super::schema::{commit_options, validate_name};
use super::server_op::ServerOp;
use crate::catalog::Catalog;
use crate::policy;
use crate::refusal::Refusal;
use crate::text;

/// Everything an op is applied with, besides the document.
pub struct OpContext<'a> {
    pub actor: &'a Actor,
    pub op_id: &'a OpId,
    /// The catalog version this op is validated against.
    pub catalog: &'a Catalog,
    pub now_ms: i64,
    pub node: NodeId,
    /// The cart's members and their names: whom a checkout op may name
    /// (budgets, assignments, payers).
    pub members: &'a HashMap<UserId, String>,
}

/// An applied operation: its change and what to tell people about it.
#[derive(Debug)]
pub struct Applied {
    /// The raw Automerge change bytes; `None` when the op changed nothing
    /// (a field set to the value it already had).
    pub change: Option<Vec<u8>>,
    /// "added Blue Mug*2" (the actor's name is put in front by the caller).
    pub summary: String,
    /// The id of what the op created (a suggestion), for its ack.
    pub created: Option<String>,
    pub totals: Totals,
    /// The products whose quantity in the cart changed, by sku.
    pub line_changes: Vec<LineChange>,
    /// The change locked the cart (the `cart.locked` webhook).
    pub locked: bool,
    /// Members it took over their budget (the `budget.exceeded` webhook).
    pub over_budget: Vec<Overrun>,
}

/// A product whose quantity in the cart an op changed: `delta` is +n for
/// "added Name*n", -n for "removed Name*n" (a removed line counts its whole
/// quantity).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineChange {
    pub sku: String,
    pub name: String,
    pub delta: i64,
}

/// What changed between two mirrors of one cart, by sku.
fn line_changes(before: &CartMirror, after: &CartMirror) -> Vec<LineChange> {
    let quantity = |mirror: &CartMirror, sku: &str| mirror.lines.get(sku).map_or(0, |l| l.quantity);
    let mut changes: Vec<LineChange> = before
        .lines
        .iter()
        .chain(
            after
                .lines
                .iter()
                .filter(|(sku, _)| !before.lines.contains_key(*sku)),
        )
        .filter_map(|(sku, line)| {
            let delta = quantity(after, sku) - quantity(before, sku);
            (delta != 0).then(|| LineChange {
                sku: sku.clone(),
                name: line.name.clone(),
                delta,
            })
        })
        .collect();
    changes.sort_by(|a, b| a.sku.cmp(&b.sku));
    changes
}

/// Cart-level figures after a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Totals {
    pub name: String,
    pub subtotal: i64,
    pub line_count: i64,
    pub currency: String,
    /// When the cart locks by itself, if a deadline is set: stored beside
    /// the change, so that a restarted node finds every deadline.
    pub lock_deadline: Option<i64>,
}

/// Validates `op` and applies it as one change under the actor's id,
/// keeping `mirror` in step. A refusal changes neither. The cart's phase
/// decides which ops it takes ([`policy::check_phase`]); no member's share
/// may grow past their budget.
pub fn apply_op(
    doc: &mut Automerge,
    mirror: &mut CartMirror,
    ctx: &OpContext<'_>,
    op: &Op,
) -> Result<Applied, Refusal> {
    validate_fields(op)?;
    policy::check_phase(mirror.phase(), op)?;
    transact(doc, mirror, ctx, op.kind(), |tx, before, next| {
        let mut done = ops::apply(tx, next, ctx, op)?;
        next.recompute_subtotal();
        check_budgets(before, next, ctx.actor)?;
        done.summary.push_str(&group_buy_notes(before, next));
        Ok(done)
    })
}

/// Applies an op the server itself originates (a deadline, an order), under
/// the actor of `ctx` (the server's). Clients cannot send these.
pub fn apply_server_op(
    doc: &mut Automerge,
    mirror: &mut CartMirror,
    ctx: &OpContext<'_>,
    op: &ServerOp,
) -> Result<Applied, Refusal> {
    transact(doc, mirror, ctx, op.kind(), |tx, _, next| {
        let done = ops::apply_server(tx, next, ctx, op)?;
        next.recompute_subtotal();
        Ok(done)
    })
}

/// Runs `write` in one Automerge transaction under the actor's id, on a
/// copy of the mirror (`write` sees the mirror before and the copy), and
/// keeps both only if it succeeds.
fn transact(
    doc: &mut Automerge,
    mirror: &mut CartMirror,
    ctx: &OpContext<'_>,
    kind: &str,
    write: impl FnOnce(&mut Tx<'_>, &CartMirror, &mut CartMirror) -> Result<Done, Refusal>,
) -> Result<Applied, Refusal> {
    doc.set_actor(ctx.actor.automerge_actor(ctx.node));
    let result = doc.transact_with(
        |_| commit_options(ctx.actor, kind, Some(ctx.op_id), ctx.now_ms),
        |tx| {
            let mut next = mirror.clone();
            let done = write(tx, mirror, &mut next)?;
            Ok::<_, Refusal>((done, next))
        },
    );
    let success = result.map_err(|failure| failure.error)?;
    let (done, next) = success.result;
    let line_changes = line_changes(mirror, &next);
    // What the store's webhooks hear of (`integrations::webhooks`).
    let locked = mirror.phase() == CartPhase::Open && next.phase() == CartPhase::Locked;
    let over_budget = newly_over_budget(mirror, &next);
    *mirror = next;
    // Setting a field to the value it has makes no change in Automerge.
    let change = match success.hash {
        Some(hash) => Some(
            doc.get_change_by_hash(&hash)
                .ok_or_else(|| Refusal::new(ErrorCode::Internal, "change vanished"))?
                .raw_bytes()
                .to_vec(),
        ),
        None => None,
    };
    Ok(Applied {
        change,
        summary: done.summary,
        created: done.created,
        totals: mirror.totals(),
        line_changes,
        locked,
        over_budget,
    })
}

/// The bounds of `docs/protocol.md` section 7 that need no document.
fn validate_fields(op: &Op) -> Result<(), Refusal> {
    match op {
        Op::AddLine { sku, quantity } => {
            check_sku(sku)?;
            check_quantity(*quantity)
        }
        Op::Suggest {
            sku,
            quantity,
            note,
        } => {
            check_sku(sku)?;
            check_quantity(*quantity)?;
            check_note(note.as_deref().unwrap_or(""))
        }
        Op::SetQuantity { quantity, .. } => check_quantity(*quantity),
        Op::ChangeQuantity { delta, .. } if *delta == 0 || delta.unsigned_abs() > 999 => {
            Err(Refusal::new(
                ErrorCode::InvalidField,
                "delta is a non-zero number from -999 to 999",
            ))
        }
        Op::SetLineNote { note, .. } | Op::SetCartNote { note } => check_note(note),
        Op::Vote { value, .. } if !(-1..=1).contains(value) => Err(Refusal::new(
            ErrorCode::InvalidField,
            "a vote is -1, 0 or 1",
        )),
        Op::Rename { name } => validate_name(name),
        Op::SetDeadline { at: Some(at) } if *at <= 0 => Err(Refusal::new(
            ErrorCode::InvalidField,
            "a deadline is a time in Unix milliseconds",
        )),
        Op::SetBudget {
            amount: Some(amount),
            ..
        }
        | Op::SetApprovalThreshold {
            amount: Some(amount),
        } => check_money(*amount),
        Op::Approve {
            comment: Some(comment),
        } => check_comment(comment),
        Op::Reject { comment } if comment.trim().is_empty() => Err(Refusal::new(
            ErrorCode::InvalidField,
            "say why in the comment of a rejection",
        )),
        Op::Reject { comment } => check_comment(comment),
        Op::SetSplit { plan } => ops::checkout::validate_plan(plan),
        Op::AddAddress { address } => ops::checkout::validate_address(address),
        Op::SetAllocation { quantity, .. } if !(0..=*QUANTITY_RANGE.end()).contains(quantity) => {
            Err(Refusal::new(
                ErrorCode::QuantityOutOfRange,
                format!("ship 0 to {} units of a line", QUANTITY_RANGE.end()),
            ))
        }
        _ => Ok(()),
    }
}

/// The most a budget, a threshold or a custom share may be: $10,000,000.00.
pub(super) const MAX_MONEY: i64 = 1_000_000_000;

pub(super) fn check_money(amount: i64) -> Result<(), Refusal> {
    if (0..=MAX_MONEY).contains(&amount) {
        return Ok(());
    }
    Err(Refusal::new(
        ErrorCode::InvalidField,
        format!("an amount is 0 to {MAX_MONEY} minor units"),
    ))
}

fn check_comment(comment: &str) -> Result<(), Refusal> {
    text::check_multiline("a comment", comment, MAX_NOTE_CHARS)
}

fn check_quantity(quantity: i64) -> Result<(), Refusal> {
    if QUANTITY_RANGE.contains(&quantity) {
        return Ok(());
    }
    Err(Refusal::new(
        ErrorCode::QuantityOutOfRange,
        format!(
            "a quantity is between {} and {}",
            QUANTITY_RANGE.start(),
            QUANTITY_RANGE.end()
        ),
    ))
}

fn check_note(note: &str) -> Result<(), Refusal> {
    text::check_multiline("a note", note, MAX_NOTE_CHARS)
}

fn check_sku(sku: &str) -> Result<(), Refusal> {
    if !sku.is_empty() && sku.len() <= MAX_SKU_LEN {
        return Ok(());
    }
    Err(Refusal::new(
        ErrorCode::InvalidField,
        "sku is empty or too long",
    ))
}
