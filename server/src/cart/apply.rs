//! Applying one op: check its fields, then make one Automerge change under
//! the actor's id, keeping the mirror in step. A refusal changes neither.

use automerge::{Automerge, ReadDoc};
use cartroom_protocol::limits::{MAX_NOTE_CHARS, MAX_SKU_LEN, QUANTITY_RANGE};
use cartroom_protocol::{ErrorCode, Op, OpId};

use super::actor::{Actor, NodeId};
use super::mirror::CartMirror;
use super::ops;
use super::schema::{commit_options, validate_name};
use crate::catalog::Catalog;
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
}

/// Cart-level figures after a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Totals {
    pub name: String,
    pub subtotal: i64,
    pub line_count: i64,
    pub currency: String,
}

/// Validates `op` and applies it as one change under the actor's id,
/// keeping `mirror` in step. A refusal changes neither.
pub fn apply_op(
    doc: &mut Automerge,
    mirror: &mut CartMirror,
    ctx: &OpContext<'_>,
    op: &Op,
) -> Result<Applied, Refusal> {
    validate_fields(op)?;
    doc.set_actor(ctx.actor.automerge_actor(ctx.node));
    let result = doc.transact_with(
        |_| commit_options(ctx.actor, op.kind(), Some(ctx.op_id), ctx.now_ms),
        |tx| {
            let mut next = mirror.clone();
            let done = ops::apply(tx, &mut next, ctx, op)?;
            next.recompute_subtotal();
            Ok::<_, Refusal>((done, next))
        },
    );
    let success = result.map_err(|failure| failure.error)?;
    let (done, next) = success.result;
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
        _ => Ok(()),
    }
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
