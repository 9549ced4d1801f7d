//! The shape of a cart document: how a new one is made, how its fields are
//! read, and the message every change carries.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc, Value};
use cartroom_protocol::limits::MAX_CART_NAME_CHARS;
use cartroom_protocol::{ErrorCode, OpId};

use super::actor::{Actor, NodeId};
use crate::refusal::Refusal;
use crate::text;

impl From<automerge::AutomergeError> for Refusal {
    fn from(e: automerge::AutomergeError) -> Self {
        Self::new(ErrorCode::Internal, format!("document error: {e}"))
    }
}

/// Creates a new cart document with its first change.
pub fn new_cart_doc(
    name: &str,
    currency: &str,
    actor: &Actor,
    now_ms: i64,
    node: NodeId,
) -> Automerge {
    let mut doc = Automerge::new();
    doc.set_actor(actor.automerge_actor(node));
    doc.transact_with::<_, _, automerge::AutomergeError, _>(
        |_| commit_options(actor, "create", None, now_ms),
        |tx| {
            tx.put(ROOT, "name", name)?;
            tx.put(ROOT, "note", "")?;
            tx.put(ROOT, "currency", currency)?;
            tx.put_object(ROOT, "lines", ObjType::Map)?;
            tx.put_object(ROOT, "suggestions", ObjType::Map)?;
            Ok(())
        },
    )
    .expect("building an empty cart document cannot fail");
    doc
}

/// Checks a cart name: 1 to 100 characters once trimmed, none that could
/// disguise an activity line ([`text`](crate::text)).
pub fn validate_name(name: &str) -> Result<(), Refusal> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Refusal::new(
            ErrorCode::InvalidField,
            format!("a cart name has 1 to {MAX_CART_NAME_CHARS} characters"),
        ));
    }
    text::check_line("a cart name", name, MAX_CART_NAME_CHARS)
}

/// The change message: JSON `{"user_id","user_name","op_id","kind","at"}`
/// (`at` in ms: history finds a moment to the millisecond), and the change
/// time in seconds (Automerge's unit).
pub(super) fn commit_options(
    actor: &Actor,
    kind: &str,
    op_id: Option<&OpId>,
    now_ms: i64,
) -> CommitOptions {
    let message = serde_json::json!({
        "user_id": actor.user_id,
        "user_name": actor.name,
        "op_id": op_id.map(|id| id.0.as_str()),
        "kind": kind,
        "at": now_ms,
    });
    CommitOptions::default()
        .with_message(message.to_string())
        .with_time(now_ms / 1000)
}

/// The map at `parent[key]`, if there is one.
pub(super) fn map_obj<R: ReadDoc>(
    doc: &R,
    parent: &ObjId,
    key: &str,
) -> Result<Option<ObjId>, Refusal> {
    Ok(match doc.get(parent, key)? {
        Some((Value::Object(ObjType::Map), id)) => Some(id),
        _ => None,
    })
}

/// A map every cart has at its root (`lines`, `suggestions`).
pub(super) fn root_map<R: ReadDoc>(doc: &R, key: &str) -> Result<ObjId, Refusal> {
    map_obj(doc, &ROOT, key)?
        .ok_or_else(|| Refusal::new(ErrorCode::Internal, format!("document has no {key} map")))
}

/// An int or counter; 0 when absent.
pub(super) fn get_i64<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Result<i64, Refusal> {
    Ok(doc
        .get(obj, key)?
        .and_then(|(v, _)| v.as_i64())
        .unwrap_or(0))
}

/// A scalar string; empty when absent.
pub(super) fn get_string<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Result<String, Refusal> {
    Ok(doc
        .get(obj, key)?
        .and_then(|(v, _)| v.as_str().map(str::to_owned))
        .unwrap_or_default())
}
