//! The cart document: how each operation is validated and applied to the
//! Automerge document, and how the document is read back as JSON.
//!
//! No I/O here: the room calls [`apply_op`] with the catalog and the clock,
//! and gets back one Automerge change, or a refusal that changed nothing.
//! The schema is documented in `docs/protocol.md` section 6.

use std::collections::{HashMap, HashSet};

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, Automerge, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use cartroom_protocol::limits::{
    MAX_CART_NAME_CHARS, MAX_LINES, MAX_NOTE_CHARS, MAX_SKU_LEN, MAX_SUGGESTIONS, QUANTITY_RANGE,
};
use cartroom_protocol::{ErrorCode, Op, OpId, UserId};
use serde::Serialize;

use crate::catalog::{Catalog, format_money};

/// Who performs an operation.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: UserId,
    pub name: String,
}

impl Actor {
    /// The Automerge actor id of this user on this node: the user's 16 bytes
    /// then the node id, so every change says who made it and two nodes never
    /// reuse one actor's sequence numbers.
    pub fn automerge_actor(&self, node_id: u16) -> ActorId {
        let mut bytes = self.user_id.0.as_bytes().to_vec();
        bytes.extend_from_slice(&node_id.to_be_bytes());
        ActorId::from(bytes)
    }
}

/// A refused operation; the document is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct OpError {
    pub code: ErrorCode,
    pub message: String,
}

impl OpError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<automerge::AutomergeError> for OpError {
    fn from(e: automerge::AutomergeError) -> Self {
        Self::new(ErrorCode::Internal, format!("document error: {e}"))
    }
}

/// Everything the room needs to make an operation.
pub struct OpContext<'a> {
    pub actor: &'a Actor,
    pub op_id: &'a OpId,
    pub catalog: &'a Catalog,
    pub now_ms: i64,
    pub node_id: u16,
}

/// An applied operation: its change and what to tell people about it.
#[derive(Debug)]
pub struct Applied {
    /// The raw Automerge change bytes; `None` when the op changed nothing
    /// (a field set to the value it already had).
    pub change: Option<Vec<u8>>,
    /// "added Blue Mug*2" (the actor's name is put in front by the caller).
    pub summary: String,
    pub totals: Totals,
}

/// Cart-level figures recomputed after each change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Totals {
    pub name: String,
    pub subtotal: i64,
    pub line_count: i64,
    pub currency: String,
}

/// Creates a new cart document with its first change.
pub fn new_cart_doc(
    name: &str,
    currency: &str,
    actor: &Actor,
    now_ms: i64,
    node_id: u16,
) -> Automerge {
    let mut doc = Automerge::new();
    doc.set_actor(actor.automerge_actor(node_id));
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

/// Checks the cart name bound.
pub fn validate_name(name: &str) -> Result<(), OpError> {
    let len = name.trim().chars().count();
    if len == 0 || len > MAX_CART_NAME_CHARS {
        return Err(OpError::new(
            ErrorCode::InvalidField,
            format!("a cart name has 1 to {MAX_CART_NAME_CHARS} characters"),
        ));
    }
    Ok(())
}

fn commit_options(actor: &Actor, kind: &str, op_id: Option<&OpId>, now_ms: i64) -> CommitOptions {
    let message = serde_json::json!({
        "user_id": actor.user_id,
        "user_name": actor.name,
        "op_id": op_id.map(|id| id.0.as_str()),
        "kind": kind,
    });
    CommitOptions::default()
        .with_message(message.to_string())
        .with_time(now_ms / 1000)
}

/// What the room knows of its document without reading it: Automerge map
/// lookups cost time proportional to an object's history, so validating an
/// op by reading the document gets slower with every change (a line's
/// quantity counter may carry thousands of increments). The mirror is built
/// once from the document and kept in step by [`apply_op`], the only writer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CartMirror {
    lines_obj: ObjId,
    suggestions_obj: ObjId,
    name: String,
    currency: String,
    subtotal: i64,
    lines: HashMap<String, LineMirror>,
    suggestions: HashMap<String, SuggestionMirror>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct LineMirror {
    obj: ObjId,
    name: String,
    unit_price: i64,
    quantity: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct SuggestionMirror {
    obj: ObjId,
    votes_obj: ObjId,
    sku: String,
    name: String,
    quantity: i64,
    by_name: String,
    voters: HashSet<String>,
}

impl CartMirror {
    /// Reads the mirror from the document (once, when a room loads).
    pub fn load(doc: &Automerge) -> Result<Self, OpError> {
        let lines_obj = root_map(doc, "lines")?;
        let suggestions_obj = root_map(doc, "suggestions")?;
        let mut lines = HashMap::new();
        for key in doc.keys(&lines_obj) {
            let Some(obj) = map_obj(doc, &lines_obj, &key)? else {
                continue;
            };
            let line = LineMirror {
                name: get_string(doc, &obj, "name")?,
                unit_price: get_i64(doc, &obj, "unit_price")?,
                quantity: get_i64(doc, &obj, "quantity")?,
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
                .ok_or_else(|| OpError::new(ErrorCode::Internal, "suggestion has no votes map"))?;
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
        Ok(Self {
            lines_obj,
            suggestions_obj,
            name: get_string(doc, &ROOT, "name")?,
            currency: get_string(doc, &ROOT, "currency")?,
            subtotal: lines
                .values()
                .map(|l: &LineMirror| l.unit_price * l.quantity)
                .sum(),
            lines,
            suggestions,
        })
    }

    /// The cart's subtotal in minor units.
    pub fn subtotal(&self) -> i64 {
        self.subtotal
    }

    /// The cart's currency code.
    pub fn currency(&self) -> &str {
        &self.currency
    }

    fn line(&self, line_id: &str) -> Result<&LineMirror, OpError> {
        self.lines.get(line_id).ok_or_else(|| {
            OpError::new(
                ErrorCode::LineNotFound,
                format!("no line {line_id} in this cart"),
            )
        })
    }

    fn suggestion(&self, id: &str) -> Result<&SuggestionMirror, OpError> {
        self.suggestions
            .get(id)
            .ok_or_else(|| OpError::new(ErrorCode::SuggestionNotFound, "no such open suggestion"))
    }

    fn totals(&self) -> Totals {
        Totals {
            name: self.name.clone(),
            subtotal: self.subtotal,
            line_count: self.lines.len() as i64,
            currency: self.currency.clone(),
        }
    }
}

/// Validates `op` and applies it as one change under the actor's id,
/// keeping `mirror` in step. A refusal changes neither.
pub fn apply_op(
    doc: &mut Automerge,
    mirror: &mut CartMirror,
    ctx: &OpContext<'_>,
    op: &Op,
) -> Result<Applied, OpError> {
    validate_fields(op)?;
    doc.set_actor(ctx.actor.automerge_actor(ctx.node_id));
    let result = doc.transact_with(
        |_| commit_options(ctx.actor, op.kind(), Some(ctx.op_id), ctx.now_ms),
        |tx| {
            let mut next = mirror.clone();
            let summary = apply_in_tx(tx, &mut next, ctx, op)?;
            // The subtotal is derived, not stored: a root field rewritten by
            // every op would double the cost of each change.
            next.subtotal = next.lines.values().map(|l| l.unit_price * l.quantity).sum();
            Ok::<_, OpError>((summary, next))
        },
    );
    let success = result.map_err(|failure| failure.error)?;
    let (summary, next) = success.result;
    *mirror = next;
    // Setting a field to the value it has makes no change in Automerge.
    let change = match success.hash {
        Some(hash) => Some(
            doc.get_change_by_hash(&hash)
                .ok_or_else(|| OpError::new(ErrorCode::Internal, "change vanished"))?
                .raw_bytes()
                .to_vec(),
        ),
        None => None,
    };
    Ok(Applied {
        change,
        summary,
        totals: mirror.totals(),
    })
}

fn validate_fields(op: &Op) -> Result<(), OpError> {
    let quantity_ok = |q: i64| {
        if QUANTITY_RANGE.contains(&q) {
            Ok(())
        } else {
            Err(OpError::new(
                ErrorCode::QuantityOutOfRange,
                format!(
                    "a quantity is between {} and {}",
                    QUANTITY_RANGE.start(),
                    QUANTITY_RANGE.end()
                ),
            ))
        }
    };
    let note_ok = |note: &str| {
        if note.chars().count() <= MAX_NOTE_CHARS {
            Ok(())
        } else {
            Err(OpError::new(
                ErrorCode::InvalidField,
                format!("a note has at most {MAX_NOTE_CHARS} characters"),
            ))
        }
    };
    let sku_ok = |sku: &str| {
        if !sku.is_empty() && sku.len() <= MAX_SKU_LEN {
            Ok(())
        } else {
            Err(OpError::new(
                ErrorCode::InvalidField,
                "sku is empty or too long",
            ))
        }
    };
    match op {
        Op::AddLine { sku, quantity } => {
            sku_ok(sku)?;
            quantity_ok(*quantity)
        }
        Op::Suggest {
            sku,
            quantity,
            note,
        } => {
            sku_ok(sku)?;
            quantity_ok(*quantity)?;
            note_ok(note.as_deref().unwrap_or(""))
        }
        Op::SetQuantity { quantity, .. } => quantity_ok(*quantity),
        Op::ChangeQuantity { delta, .. } if *delta == 0 || delta.unsigned_abs() > 999 => {
            Err(OpError::new(
                ErrorCode::InvalidField,
                "delta is a non-zero number from -999 to 999",
            ))
        }
        Op::SetLineNote { note, .. } | Op::SetCartNote { note } => note_ok(note),
        Op::Vote { value, .. } if !(-1..=1).contains(value) => Err(OpError::new(
            ErrorCode::InvalidField,
            "a vote is -1, 0 or 1",
        )),
        Op::Rename { name } => validate_name(name),
        _ => Ok(()),
    }
}

fn map_obj<R: ReadDoc>(doc: &R, parent: &ObjId, key: &str) -> Result<Option<ObjId>, OpError> {
    Ok(match doc.get(parent, key)? {
        Some((Value::Object(ObjType::Map), id)) => Some(id),
        _ => None,
    })
}

fn root_map<R: ReadDoc>(doc: &R, key: &str) -> Result<ObjId, OpError> {
    map_obj(doc, &ROOT, key)?
        .ok_or_else(|| OpError::new(ErrorCode::Internal, format!("document has no {key} map")))
}

fn get_i64<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Result<i64, OpError> {
    Ok(doc
        .get(obj, key)?
        .and_then(|(v, _)| v.as_i64())
        .unwrap_or(0))
}

fn get_string<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Result<String, OpError> {
    Ok(doc
        .get(obj, key)?
        .and_then(|(v, _)| v.as_str().map(str::to_owned))
        .unwrap_or_default())
}

fn check_stock(product_stock: i64, name: &str, quantity: i64) -> Result<(), OpError> {
    if quantity > product_stock {
        return Err(OpError::new(
            ErrorCode::OutOfStock,
            format!("only {product_stock} of {name} in stock"),
        ));
    }
    Ok(())
}

fn check_line_quantity(quantity: i64) -> Result<(), OpError> {
    if !QUANTITY_RANGE.contains(&quantity) {
        return Err(OpError::new(
            ErrorCode::QuantityOutOfRange,
            format!(
                "a line's quantity stays between {} and {} (it would be {quantity})",
                QUANTITY_RANGE.start(),
                QUANTITY_RANGE.end()
            ),
        ));
    }
    Ok(())
}

type Tx<'a> = automerge::transaction::Transaction<'a>;

/// Adds `quantity` of `sku` to its line, creating the line if needed.
fn add_to_line(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    sku: &str,
    quantity: i64,
) -> Result<String, OpError> {
    let product = ctx.catalog.get(sku).ok_or_else(|| {
        OpError::new(
            ErrorCode::UnknownSku,
            format!("no product {sku} in the catalog"),
        )
    })?;
    match cart.lines.get_mut(sku) {
        Some(line) => {
            let total = line.quantity + quantity;
            check_line_quantity(total)?;
            check_stock(product.stock, &product.name, total)?;
            tx.increment(&line.obj, "quantity", quantity)?;
            line.quantity = total;
        }
        None => {
            if cart.lines.len() >= MAX_LINES {
                return Err(OpError::new(
                    ErrorCode::CartFull,
                    format!("a cart holds at most {MAX_LINES} lines"),
                ));
            }
            check_stock(product.stock, &product.name, quantity)?;
            let obj = tx.put_object(&cart.lines_obj, sku, ObjType::Map)?;
            tx.put(&obj, "sku", sku)?;
            tx.put(&obj, "name", product.name.as_str())?;
            tx.put(&obj, "unit_price", product.price)?;
            tx.put(&obj, "quantity", ScalarValue::counter(quantity))?;
            tx.put(&obj, "note", "")?;
            tx.put(&obj, "added_by", ctx.actor.user_id.to_string())?;
            tx.put(&obj, "added_by_name", ctx.actor.name.as_str())?;
            tx.put(&obj, "added_at", ctx.now_ms)?;
            cart.lines.insert(
                sku.to_owned(),
                LineMirror {
                    obj,
                    name: product.name.clone(),
                    unit_price: product.price,
                    quantity,
                },
            );
        }
    }
    Ok(format!("{}*{}", product.name, quantity))
}

fn apply_in_tx(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    op: &Op,
) -> Result<String, OpError> {
    match op {
        Op::AddLine { sku, quantity } => {
            let what = add_to_line(tx, cart, ctx, sku, *quantity)?;
            Ok(format!("added {what}"))
        }
        Op::ChangeQuantity { line_id, delta } => {
            let line = cart.line(&line_id.0)?;
            let total = line.quantity + delta;
            check_line_quantity(total)?;
            if *delta > 0 {
                let stock = ctx.catalog.get(&line_id.0).map_or(i64::MAX, |p| p.stock);
                check_stock(stock, &line.name, total)?;
            }
            tx.increment(&line.obj, "quantity", *delta)?;
            let name = line.name.clone();
            cart.lines
                .get_mut(&line_id.0)
                .expect("checked above")
                .quantity = total;
            Ok(format!("changed {name} to {total}"))
        }
        Op::SetQuantity { line_id, quantity } => {
            let line = cart.line(&line_id.0)?;
            let stock = ctx.catalog.get(&line_id.0).map_or(i64::MAX, |p| p.stock);
            check_stock(stock, &line.name, *quantity)?;
            // An increment by the difference composes with concurrent increments.
            if *quantity != line.quantity {
                tx.increment(&line.obj, "quantity", quantity - line.quantity)?;
            }
            let name = line.name.clone();
            cart.lines
                .get_mut(&line_id.0)
                .expect("checked above")
                .quantity = *quantity;
            Ok(format!("set {name} to {quantity}"))
        }
        Op::RemoveLine { line_id } => {
            let name = cart.line(&line_id.0)?.name.clone();
            tx.delete(&cart.lines_obj, line_id.0.as_str())?;
            cart.lines.remove(&line_id.0);
            Ok(format!("removed {name}"))
        }
        Op::SetLineNote { line_id, note } => {
            let line = cart.line(&line_id.0)?;
            tx.put(&line.obj, "note", note.as_str())?;
            Ok(format!("noted on {}: \"{note}\"", line.name))
        }
        Op::SetCartNote { note } => {
            tx.put(ROOT, "note", note.as_str())?;
            Ok(format!("set the cart note: \"{note}\""))
        }
        Op::Suggest {
            sku,
            quantity,
            note,
        } => {
            let product = ctx.catalog.get(sku).ok_or_else(|| {
                OpError::new(
                    ErrorCode::UnknownSku,
                    format!("no product {sku} in the catalog"),
                )
            })?;
            if cart.suggestions.len() >= MAX_SUGGESTIONS {
                return Err(OpError::new(
                    ErrorCode::CartFull,
                    format!("a cart holds at most {MAX_SUGGESTIONS} open suggestions"),
                ));
            }
            // Unique per (user, op_id): the room answers a reused op_id before this.
            let id = format!("s-{}-{}", ctx.actor.user_id.0.simple(), ctx.op_id.0);
            let obj = tx.put_object(&cart.suggestions_obj, id.as_str(), ObjType::Map)?;
            tx.put(&obj, "sku", sku.as_str())?;
            tx.put(&obj, "name", product.name.as_str())?;
            tx.put(&obj, "unit_price", product.price)?;
            tx.put(&obj, "quantity", *quantity)?;
            tx.put(&obj, "note", note.as_deref().unwrap_or(""))?;
            tx.put(&obj, "by", ctx.actor.user_id.to_string())?;
            tx.put(&obj, "by_name", ctx.actor.name.as_str())?;
            tx.put(&obj, "at", ctx.now_ms)?;
            let votes_obj = tx.put_object(&obj, "votes", ObjType::Map)?;
            cart.suggestions.insert(
                id,
                SuggestionMirror {
                    obj,
                    votes_obj,
                    sku: sku.clone(),
                    name: product.name.clone(),
                    quantity: *quantity,
                    by_name: ctx.actor.name.clone(),
                    voters: HashSet::new(),
                },
            );
            Ok(format!("suggested {}*{quantity}", product.name))
        }
        Op::Vote {
            suggestion_id,
            value,
        } => {
            let user = ctx.actor.user_id.to_string();
            let suggestion = cart.suggestion(&suggestion_id.0)?;
            let name = suggestion.name.clone();
            let votes_obj = suggestion.votes_obj.clone();
            let voted = suggestion.voters.contains(&user);
            let voters = &mut cart
                .suggestions
                .get_mut(&suggestion_id.0)
                .expect("checked above")
                .voters;
            if *value == 0 {
                if voted {
                    tx.delete(&votes_obj, user.as_str())?;
                    voters.remove(&user);
                }
                Ok(format!("withdrew a vote on {name}"))
            } else {
                tx.put(&votes_obj, user.as_str(), *value)?;
                voters.insert(user);
                let word = if *value > 0 { "for" } else { "against" };
                Ok(format!("voted {word} {name}"))
            }
        }
        Op::AcceptSuggestion { suggestion_id } => {
            let suggestion = cart.suggestion(&suggestion_id.0)?.clone();
            let what = add_to_line(tx, cart, ctx, &suggestion.sku, suggestion.quantity)?;
            tx.delete(&cart.suggestions_obj, suggestion_id.0.as_str())?;
            cart.suggestions.remove(&suggestion_id.0);
            Ok(format!(
                "accepted {}'s suggestion {what}",
                suggestion.by_name
            ))
        }
        Op::Rename { name } => {
            let name = name.trim();
            tx.put(ROOT, "name", name)?;
            cart.name = name.to_owned();
            Ok(format!("renamed the cart to \"{name}\""))
        }
    }
}

/// The activity sentence: "Ana added Blue Mug*2. Subtotal $24.00".
pub fn activity_text(actor_name: &str, summary: &str, totals: &Totals) -> String {
    format!(
        "{actor_name} {summary}. Subtotal {}",
        format_money(totals.subtotal, &totals.currency)
    )
}

/// One line of the JSON view.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct LineView {
    pub line_id: String,
    pub sku: String,
    pub name: String,
    pub unit_price: i64,
    pub quantity: i64,
    pub line_total: i64,
    pub note: String,
    pub added_by: String,
    pub added_by_name: String,
    pub added_at: i64,
}

/// One open suggestion of the JSON view.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SuggestionView {
    pub suggestion_id: String,
    pub sku: String,
    pub name: String,
    pub unit_price: i64,
    pub quantity: i64,
    pub note: String,
    pub by: String,
    pub by_name: String,
    pub at: i64,
    pub votes: std::collections::BTreeMap<String, i64>,
    pub score: i64,
}

/// The server's JSON view of a cart document.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CartView {
    pub name: String,
    pub note: String,
    pub currency: String,
    pub subtotal: i64,
    pub item_count: i64,
    pub lines: Vec<LineView>,
    pub suggestions: Vec<SuggestionView>,
    pub heads: Vec<String>,
}

/// Reads the document into its JSON view (lines and suggestions sorted by key).
pub fn view(doc: &Automerge) -> Result<CartView, OpError> {
    let lines_obj = root_map(doc, "lines")?;
    let mut lines = Vec::new();
    for key in doc.keys(&lines_obj) {
        let Some(line) = map_obj(doc, &lines_obj, &key)? else {
            continue;
        };
        let unit_price = get_i64(doc, &line, "unit_price")?;
        let quantity = get_i64(doc, &line, "quantity")?;
        lines.push(LineView {
            line_id: key.clone(),
            sku: get_string(doc, &line, "sku")?,
            name: get_string(doc, &line, "name")?,
            unit_price,
            quantity,
            line_total: unit_price * quantity,
            note: get_string(doc, &line, "note")?,
            added_by: get_string(doc, &line, "added_by")?,
            added_by_name: get_string(doc, &line, "added_by_name")?,
            added_at: get_i64(doc, &line, "added_at")?,
        });
    }
    let suggestions_obj = root_map(doc, "suggestions")?;
    let mut suggestions = Vec::new();
    for key in doc.keys(&suggestions_obj) {
        let Some(s) = map_obj(doc, &suggestions_obj, &key)? else {
            continue;
        };
        let mut votes = std::collections::BTreeMap::new();
        if let Some(votes_obj) = map_obj(doc, &s, "votes")? {
            for voter in doc.keys(&votes_obj) {
                let value = get_i64(doc, &votes_obj, &voter)?;
                votes.insert(voter, value);
            }
        }
        suggestions.push(SuggestionView {
            suggestion_id: key.clone(),
            sku: get_string(doc, &s, "sku")?,
            name: get_string(doc, &s, "name")?,
            unit_price: get_i64(doc, &s, "unit_price")?,
            quantity: get_i64(doc, &s, "quantity")?,
            note: get_string(doc, &s, "note")?,
            by: get_string(doc, &s, "by")?,
            by_name: get_string(doc, &s, "by_name")?,
            at: get_i64(doc, &s, "at")?,
            score: votes.values().sum(),
            votes,
        });
    }
    Ok(CartView {
        name: get_string(doc, &ROOT, "name")?,
        note: get_string(doc, &ROOT, "note")?,
        currency: get_string(doc, &ROOT, "currency")?,
        subtotal: lines.iter().map(|l| l.line_total).sum(),
        item_count: lines.iter().map(|l| l.quantity).sum(),
        lines,
        suggestions,
        heads: doc.get_heads().iter().map(|h| h.to_string()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Product, StoreInfo};
    use cartroom_protocol::{LineId, SuggestionId};

    fn catalog() -> Catalog {
        let product = |sku: &str, price, stock| Product {
            sku: sku.into(),
            name: format!("Product {sku}"),
            price,
            currency: "USD".into(),
            stock,
            image_url: String::new(),
            group_buy: None,
            color: "#000".into(),
        };
        Catalog::new(
            StoreInfo {
                id: "t".into(),
                name: "Test".into(),
                currency: "USD".into(),
            },
            vec![product("A", 1200, 500), product("B", 250, 3)],
        )
    }

    fn actor(name: &str) -> Actor {
        Actor {
            user_id: UserId::new_random(),
            name: name.into(),
        }
    }

    fn apply(doc: &mut Automerge, who: &Actor, op: Op) -> Result<Applied, OpError> {
        let catalog = catalog();
        let op_id = OpId(format!(
            "op-{}",
            doc.get_heads().len() + doc.get_changes(&[]).len()
        ));
        let mut mirror = CartMirror::load(doc).unwrap();
        let applied = apply_op(
            doc,
            &mut mirror,
            &OpContext {
                actor: who,
                op_id: &op_id,
                catalog: &catalog,
                now_ms: 1_000,
                node_id: 0,
            },
            &op,
        );
        // The mirror kept in step must equal one read afresh from the document.
        assert_eq!(
            mirror,
            CartMirror::load(doc).unwrap(),
            "mirror out of step after {op:?}"
        );
        applied
    }

    fn add(sku: &str, quantity: i64) -> Op {
        Op::AddLine {
            sku: sku.into(),
            quantity,
        }
    }

    #[test]
    fn adding_the_same_product_twice_adds_up_and_totals_follow() {
        let ana = actor("Ana");
        let mut doc = new_cart_doc("Picnic", "USD", &ana, 0, 0);
        let applied = apply(&mut doc, &ana, add("A", 2)).unwrap();
        assert_eq!(
            activity_text("Ana", &applied.summary, &applied.totals),
            "Ana added Product A*2. Subtotal $24.00"
        );
        apply(&mut doc, &actor("Ben"), add("A", 3)).unwrap();
        let view = view(&doc).unwrap();
        assert_eq!(view.lines.len(), 1);
        assert_eq!(view.lines[0].quantity, 5);
        assert_eq!(view.subtotal, 6000);
        assert_eq!(view.lines[0].added_by_name, "Ana");
    }

    #[test]
    fn refusals_change_nothing() {
        let ana = actor("Ana");
        let mut doc = new_cart_doc("Picnic", "USD", &ana, 0, 0);
        let heads = doc.get_heads();
        let cases = [
            (add("NOPE", 1), ErrorCode::UnknownSku),
            (add("A", 0), ErrorCode::QuantityOutOfRange),
            (add("A", 1000), ErrorCode::QuantityOutOfRange),
            (add("B", 4), ErrorCode::OutOfStock),
            (
                Op::SetCartNote {
                    note: "x".repeat(501),
                },
                ErrorCode::InvalidField,
            ),
            (
                Op::RemoveLine {
                    line_id: LineId("A".into()),
                },
                ErrorCode::LineNotFound,
            ),
            (
                Op::Vote {
                    suggestion_id: SuggestionId("s-x".into()),
                    value: 1,
                },
                ErrorCode::SuggestionNotFound,
            ),
            (Op::Rename { name: " ".into() }, ErrorCode::InvalidField),
        ];
        for (op, code) in cases {
            let err = apply(&mut doc, &ana, op.clone()).unwrap_err();
            assert_eq!(err.code, code, "{op:?}");
            assert_eq!(doc.get_heads(), heads, "{op:?} changed the document");
        }
    }

    #[test]
    fn quantity_changes_stay_in_range() {
        let ana = actor("Ana");
        let mut doc = new_cart_doc("Picnic", "USD", &ana, 0, 0);
        apply(&mut doc, &ana, add("A", 2)).unwrap();
        let line_id = LineId("A".into());
        let err = apply(
            &mut doc,
            &ana,
            Op::ChangeQuantity {
                line_id: line_id.clone(),
                delta: -2,
            },
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::QuantityOutOfRange);
        apply(
            &mut doc,
            &ana,
            Op::SetQuantity {
                line_id: line_id.clone(),
                quantity: 7,
            },
        )
        .unwrap();
        apply(&mut doc, &ana, Op::ChangeQuantity { line_id, delta: -1 }).unwrap();
        assert_eq!(view(&doc).unwrap().lines[0].quantity, 6);
    }

    #[test]
    fn setting_a_field_to_its_value_makes_no_change() {
        let ana = actor("Ana");
        let mut doc = new_cart_doc("Picnic", "USD", &ana, 0, 0);
        let rename = Op::Rename {
            name: "Party".into(),
        };
        assert!(
            apply(&mut doc, &ana, rename.clone())
                .unwrap()
                .change
                .is_some()
        );
        let heads = doc.get_heads();
        assert!(apply(&mut doc, &ana, rename).unwrap().change.is_none());
        assert_eq!(doc.get_heads(), heads);
    }

    #[test]
    fn line_cap_is_enforced() {
        let ana = actor("Ana");
        let mut doc = new_cart_doc("Picnic", "USD", &ana, 0, 0);
        let lines = root_map(&doc, "lines").unwrap();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            for i in 0..MAX_LINES {
                tx.put_object(&lines, format!("X{i}"), ObjType::Map)?;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(
            apply(&mut doc, &ana, add("A", 1)).unwrap_err().code,
            ErrorCode::CartFull
        );
    }

    #[test]
    fn suggestion_votes_and_accept() {
        let ana = actor("Ana");
        let kid = actor("Kid");
        let mut doc = new_cart_doc("Picnic", "USD", &ana, 0, 0);
        apply(
            &mut doc,
            &kid,
            Op::Suggest {
                sku: "A".into(),
                quantity: 2,
                note: Some("please".into()),
            },
        )
        .unwrap();
        let id = SuggestionId(view(&doc).unwrap().suggestions[0].suggestion_id.clone());
        apply(
            &mut doc,
            &ana,
            Op::Vote {
                suggestion_id: id.clone(),
                value: 1,
            },
        )
        .unwrap();
        assert_eq!(view(&doc).unwrap().suggestions[0].score, 1);
        let accepted = apply(&mut doc, &ana, Op::AcceptSuggestion { suggestion_id: id }).unwrap();
        assert!(
            accepted.summary.contains("Kid's suggestion"),
            "{}",
            accepted.summary
        );
        let view = view(&doc).unwrap();
        assert!(view.suggestions.is_empty());
        assert_eq!(view.lines[0].quantity, 2);
    }

    #[test]
    fn remove_wins_over_a_concurrent_increment_when_replicas_merge() {
        let ana = actor("Ana");
        let ben = actor("Ben");
        let mut doc = new_cart_doc("Picnic", "USD", &ana, 0, 0);
        apply(&mut doc, &ana, add("A", 2)).unwrap();
        let mut other = doc.fork();
        apply(
            &mut doc,
            &ana,
            Op::RemoveLine {
                line_id: LineId("A".into()),
            },
        )
        .unwrap();
        apply(
            &mut other,
            &ben,
            Op::ChangeQuantity {
                line_id: LineId("A".into()),
                delta: 3,
            },
        )
        .unwrap();
        doc.merge(&mut other).unwrap();
        other.merge(&mut doc.clone()).unwrap();
        assert!(view(&doc).unwrap().lines.is_empty());
        assert_eq!(view(&doc).unwrap().lines, view(&other).unwrap().lines);
    }
}
