//! A cart as it was at an earlier moment, and what changed since and by
//! whom (`docs/protocol.md` section 13, "History"), read from the
//! Automerge history: the document is forked at the heads of that moment
//! and read like the live one; the changes after those heads name their
//! authors in their commit messages.
//!
//! A moment is given by heads, or by a time: the heads of the changes made
//! at or before it (Automerge keeps change times in seconds).

use std::collections::HashSet;

use automerge::{Automerge, ChangeHash};
use cartroom_protocol::limits::MAX_HEADS;
use cartroom_protocol::takeover::{HistoryChange, HistoryResponse, MAX_HISTORY_CHANGES};
use cartroom_protocol::{CartId, ErrorCode, Heads};

use super::CartService;
use super::error::Result;
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
}

/// The cart at `moment`, and the changes since.
pub async fn history(carts: &CartService, cart: CartId, moment: Moment) -> Result<HistoryResponse> {
    let bytes = carts.bytes(cart, BytesKind::Document).await?;
    // Loading and forking grow with the history: off the async threads.
    tokio::task::spawn_blocking(move || {
        let doc = Automerge::load(&bytes).map_err(|_| Refusal::unavailable())?;
        Ok(read_at(&doc, cart, moment)?)
    })
    .await
    .map_err(|_| Refusal::unavailable())?
}

fn read_at(doc: &Automerge, cart: CartId, moment: Moment) -> Result<HistoryResponse, Refusal> {
    let heads = match moment {
        Moment::Heads(heads) => {
            if heads
                .iter()
                .any(|h| doc.get_change_meta_by_hash(h).is_none())
            {
                return Err(Refusal::new(
                    ErrorCode::InvalidField,
                    "these heads are not in the cart's history",
                ));
            }
            heads
        }
        Moment::At(at) => heads_at(doc, at),
    };
    if heads.is_empty() {
        return Err(Refusal::new(
            ErrorCode::InvalidField,
            "the cart did not exist yet at that moment",
        ));
    }
    let then = doc
        .fork_at(&heads)
        .map_err(|e| Refusal::new(ErrorCode::Internal, e.to_string()))?;
    let view = cart::view(&then)?;
    let since = doc.get_changes_meta(&heads);
    let changes_total = since.len();
    let changes = since
        .iter()
        .skip(changes_total.saturating_sub(MAX_HISTORY_CHANGES))
        .map(|change| {
            let message: serde_json::Value = change
                .message
                .as_deref()
                .and_then(|m| serde_json::from_str(m).ok())
                .unwrap_or_default();
            let text = |key: &str| message.get(key).and_then(|v| v.as_str()).map(str::to_owned);
            HistoryChange {
                hash: change.hash.to_string(),
                at: change.timestamp.saturating_mul(1000),
                user_id: text("user_id").and_then(|id| id.parse().ok()),
                user_name: text("user_name").unwrap_or_default(),
                kind: text("kind").unwrap_or_default(),
            }
        })
        .collect();
    Ok(HistoryResponse {
        cart_id: cart,
        heads: Heads(heads.iter().map(ToString::to_string).collect()),
        name: view.name,
        currency: view.currency,
        subtotal: view.subtotal,
        lines: view.lines,
        current_heads: heads_of(doc),
        changes,
        changes_total,
    })
}

/// The heads of the changes made at or before `at_ms`: those of them no
/// other of them depends on.
fn heads_at(doc: &Automerge, at_ms: i64) -> Vec<ChangeHash> {
    let at_s = at_ms.div_euclid(1000);
    let made: Vec<_> = doc
        .get_changes_meta(&[])
        .into_iter()
        .filter(|c| c.timestamp <= at_s)
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
