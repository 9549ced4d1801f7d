//! A cart as it was at an earlier moment, and what changed since and by
//! whom (`docs/protocol.md` section 13, "History"), read from the
//! Automerge history: the document is forked at the heads of that moment
//! and read like the live one; the changes after those heads name their
//! authors in their commit messages.
//!
//! A moment is given by heads, or by a time: the heads of the changes made
//! at or before it (to the millisecond, from each change's message: Automerge
//! keeps change times in whole seconds).
//!
//! The live document holds only the current epoch (`cart::epoch`). A
//! moment before it is read from the archived epochs, newest first: each
//! one's base and changes make its document. The changes since such a
//! moment are that epoch's after it and every later epoch's, less the
//! changes that started an epoch (they edit nothing).

use std::collections::HashSet;

use automerge::{Automerge, ChangeHash, ChangeMetadata};
use cartroom_protocol::limits::MAX_HEADS;
use cartroom_protocol::takeover::{HistoryChange, HistoryResponse, MAX_HISTORY_CHANGES};
use cartroom_protocol::{CartId, ErrorCode, Heads};

use super::CartService;
use super::error::Result;
use crate::cart::epoch::{self, EPOCH_KIND};
use crate::cart::{self, view::heads_of};
use crate::refusal::Refusal;
use crate::room::BytesKind;

/// Which earlier moment.
#[derive(Clone, Debug)]
pub enum Moment {
    /// Unix ms.
    At(i64),
    Heads(Vec<ChangeHash>),
}

impl Moment {
    /// `?at=` or `?heads=h1,h2` (exactly one).
    pub fn parse(at: Option<i64>, heads: Option<&str>) -> Result<Self, Refusal> {
        match (at, heads) {
            (Some(at), None) => Ok(Self::At(at)),
            (None, Some(heads)) => {
                let heads: Vec<&str> = heads.split(',').filter(|h| !h.is_empty()).collect();
                if heads.is_empty() || heads.len() > MAX_HEADS {
                    return Err(Refusal::new(
                        ErrorCode::InvalidField,
                        format!("heads are 1 to {MAX_HEADS} change hashes"),
                    ));
                }
                heads
                    .iter()
                    .map(|h| h.parse::<ChangeHash>())
                    .collect::<Result<Vec<_>, _>>()
                    .map(Self::Heads)
                    .map_err(|_| {
                        Refusal::new(
                            ErrorCode::InvalidField,
                            "heads are 64-digit hex change hashes",
                        )
                    })
            }
            _ => Err(Refusal::new(
                ErrorCode::InvalidField,
                "give either at (unix ms) or heads (comma-separated hashes)",
            )),
        }
    }

    /// The refusal when no epoch of the cart holds this moment.
    fn not_found(&self) -> Refusal {
        let message = match self {
            Self::Heads(_) => "these heads are not in the cart's history",
            Self::At(_) => "the cart did not exist yet at that moment",
        };
        Refusal::new(ErrorCode::InvalidField, message)
    }

    /// The heads of this moment in `doc`, if `doc` holds it.
    fn heads_in(&self, doc: &Automerge) -> Option<Vec<ChangeHash>> {
        match self {
            Self::Heads(heads) => heads
                .iter()
                .all(|h| doc.get_change_meta_by_hash(h).is_some())
                .then(|| heads.clone()),
            Self::At(at) => Some(heads_at(doc, *at)).filter(|heads| !heads.is_empty()),
        }
    }
}

/// An epoch's document, and the heads of the moment in it (if it holds it).
struct Opened {
    doc: Automerge,
    heads: Option<Vec<ChangeHash>>,
}

/// The cart at `moment`, and the changes since.
pub async fn history(carts: &CartService, cart: CartId, moment: Moment) -> Result<HistoryResponse> {
    let bytes = carts.bytes(cart, BytesKind::Document).await?;
    let live = open(bytes.to_vec(), Vec::new(), moment.clone()).await?;
    let current_heads = heads_of(&live.doc);
    // Documents later than the one holding the moment, newest first.
    let mut later = Vec::new();
    let mut here = live;
    if here.heads.is_none() {
        let doc = here.doc;
        let (doc, live_epoch) = blocking(move || {
            let epoch = epoch::epoch_of(&doc);
            Ok((doc, epoch))
        })
        .await?;
        here = Opened { doc, heads: None };
        let mut archived: Vec<i64> = (carts.changes.epochs(cart).await?.into_iter())
            .map(|info| info.epoch)
            .filter(|epoch| *epoch < live_epoch)
            .collect();
        archived.sort_unstable_by(|a, b| b.cmp(a));
        for epoch in archived {
            let Some((base, changes)) = carts.changes.epoch_doc_parts(cart, epoch).await? else {
                continue;
            };
            let older = open(base, changes, moment.clone()).await?;
            later.push(std::mem::replace(&mut here, older).doc);
            if here.heads.is_some() {
                break;
            }
        }
    }
    let Some(heads) = here.heads.take() else {
        return Err(moment.not_found().into());
    };
    Ok(blocking(move || read_at(&here.doc, &later, heads, current_heads, cart)).await?)
}

/// Loads an epoch's document and finds the moment in it, off the async
/// threads (both grow with the epoch's changes).
async fn open(base: Vec<u8>, changes: Vec<Vec<u8>>, moment: Moment) -> Result<Opened, Refusal> {
    blocking(move || {
        let doc = epoch::load(&base, &changes).map_err(|_| Refusal::unavailable())?;
        let heads = moment.heads_in(&doc);
        Ok(Opened { doc, heads })
    })
    .await
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Refusal> + Send + 'static,
) -> Result<T, Refusal> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| Refusal::unavailable())?
}

/// The cart in `doc` at `heads`, and the edits since: `doc`'s after
/// `heads`, then those of the `later` documents (newest first).
fn read_at(
    doc: &Automerge,
    later: &[Automerge],
    heads: Vec<ChangeHash>,
    current_heads: Heads,
    cart: CartId,
) -> Result<HistoryResponse, Refusal> {
    let then = doc
        .fork_at(&heads)
        .map_err(|e| Refusal::new(ErrorCode::Internal, e.to_string()))?;
    let view = cart::view(&then)?;
    let mut changes = edits(doc.get_changes_meta(&heads));
    for newer in later.iter().rev() {
        changes.extend(edits(newer.get_changes_meta(&[])));
    }
    let changes_total = changes.len();
    changes.drain(..changes_total.saturating_sub(MAX_HISTORY_CHANGES));
    Ok(HistoryResponse {
        cart_id: cart,
        heads: Heads(heads.iter().map(ToString::to_string).collect()),
        name: view.name,
        currency: view.currency,
        subtotal: view.subtotal,
        lines: view.lines,
        current_heads,
        changes,
        changes_total,
    })
}

/// The edits among `changes`, with who made them; the change that started
/// an epoch is not one.
fn edits(changes: Vec<ChangeMetadata<'_>>) -> Vec<HistoryChange> {
    changes
        .iter()
        .filter_map(|change| {
            let message = message(change);
            let text = |key: &str| message.get(key).and_then(|v| v.as_str()).map(str::to_owned);
            let kind = text("kind").unwrap_or_default();
            (kind != EPOCH_KIND).then(|| HistoryChange {
                hash: change.hash.to_string(),
                at: made_at(change, &message),
                user_id: text("user_id").and_then(|id| id.parse().ok()),
                user_name: text("user_name").unwrap_or_default(),
                kind,
            })
        })
        .collect()
}

/// A change's commit message (`cart::schema::commit_options`), as JSON.
fn message(change: &ChangeMetadata<'_>) -> serde_json::Value {
    change
        .message
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or_default()
}

/// When a change was made, in unix ms: its message's `at`, or Automerge's
/// change time (whole seconds) for a change whose message has none.
fn made_at(change: &ChangeMetadata<'_>, message: &serde_json::Value) -> i64 {
    message
        .get("at")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or_else(|| change.timestamp.saturating_mul(1000))
}

/// The heads of the changes made at or before `at_ms`: those of them no
/// other of them depends on.
fn heads_at(doc: &Automerge, at_ms: i64) -> Vec<ChangeHash> {
    let made: Vec<_> = doc
        .get_changes_meta(&[])
        .into_iter()
        .filter(|c| made_at(c, &message(c)) <= at_ms)
        .collect();
    let depended: HashSet<ChangeHash> = made.iter().flat_map(|c| c.deps.clone()).collect();
    let mut heads: Vec<ChangeHash> = made
        .iter()
        .map(|c| c.hash)
        .filter(|h| !depended.contains(h))
        .collect();
    heads.sort_unstable();
    heads
}
