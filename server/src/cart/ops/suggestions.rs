//! Suggestions: any member (viewers included) proposes a product, members
//! vote, an editor accepts it into the cart or turns it down, and its
//! author may withdraw it. One person suggesting a product they already
//! suggested adds to their open suggestion instead of making a second row.

use std::collections::HashSet;

use automerge::ObjType;
use automerge::transaction::Transactable;
use cartroom_protocol::ErrorCode;
use cartroom_protocol::limits::{MAX_SUGGESTIONS, QUANTITY_RANGE};

use super::lines::add_to_line;
use super::{Done, Tx, listing};
use crate::cart::apply::OpContext;
use crate::cart::mirror::{CartMirror, SuggestionMirror};
use crate::cart::schema::get_string;
use crate::refusal::Refusal;

pub(super) fn suggest(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    sku: &str,
    quantity: i64,
    note: Option<&str>,
) -> Result<Done, Refusal> {
    let product = &listing(ctx, sku)?.product;
    let me = ctx.actor.user_id.to_string();
    if let Some(id) = open_suggestion_of(tx, cart, &me, sku)? {
        return merge(tx, cart, id, quantity, note);
    }
    if cart.suggestions.len() >= MAX_SUGGESTIONS {
        return Err(Refusal::new(
            ErrorCode::CartFull,
            format!("a cart holds at most {MAX_SUGGESTIONS} open suggestions"),
        ));
    }
    // Unique per (user, op_id): the room answers a reused op_id before this.
    let id = format!("s-{}-{}", ctx.actor.user_id.0.simple(), ctx.op_id.0);
    let obj = tx.put_object(&cart.suggestions_obj, id.as_str(), ObjType::Map)?;
    let created = Some(id.clone());
    tx.put(&obj, "sku", sku)?;
    tx.put(&obj, "name", product.name.as_str())?;
    tx.put(&obj, "unit_price", product.price)?;
    tx.put(&obj, "quantity", quantity)?;
    tx.put(&obj, "note", note.unwrap_or(""))?;
    tx.put(&obj, "by", ctx.actor.user_id.to_string())?;
    tx.put(&obj, "by_name", ctx.actor.name.as_str())?;
    tx.put(&obj, "at", ctx.now_ms)?;
    let votes_obj = tx.put_object(&obj, "votes", ObjType::Map)?;
    cart.suggestions.insert(
        id,
        SuggestionMirror {
            obj,
            votes_obj,
            sku: sku.to_owned(),
            name: product.name.clone(),
            quantity,
            by_name: ctx.actor.name.clone(),
            voters: HashSet::new(),
        },
    );
    Ok(Done {
        summary: format!("suggested {}*{quantity}", product.name),
        created,
    })
}

/// The id of `user`'s open suggestion of `sku`, if they have one.
fn open_suggestion_of(
    tx: &Tx<'_>,
    cart: &CartMirror,
    user: &str,
    sku: &str,
) -> Result<Option<String>, Refusal> {
    for (id, s) in &cart.suggestions {
        if s.sku == sku && get_string(tx, &s.obj, "by")? == user {
            return Ok(Some(id.clone()));
        }
    }
    Ok(None)
}

/// The same person suggests the same product again: their open suggestion
/// grows by `quantity` (and takes the new note, if one is given). Votes
/// stay; the ack names the suggestion that grew.
fn merge(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    id: String,
    quantity: i64,
    note: Option<&str>,
) -> Result<Done, Refusal> {
    let suggestion = cart.suggestion_mut(&id)?;
    let total = suggestion.quantity + quantity;
    let most = *QUANTITY_RANGE.end();
    if total > most {
        return Err(Refusal::new(
            ErrorCode::QuantityOutOfRange,
            format!(
                "you already suggested {} {}; a suggestion holds at most {most}",
                suggestion.quantity, suggestion.name
            ),
        ));
    }
    tx.put(&suggestion.obj, "quantity", total)?;
    suggestion.quantity = total;
    if let Some(note) = note.filter(|n| !n.is_empty()) {
        tx.put(&suggestion.obj, "note", note)?;
    }
    Ok(Done {
        summary: format!("suggested {}*{total}", suggestion.name),
        created: Some(id),
    })
}

/// 1 for, -1 against, 0 withdraws the voter's entry.
pub(super) fn vote(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    suggestion_id: &str,
    value: i64,
) -> Result<String, Refusal> {
    let user = ctx.actor.user_id.to_string();
    let suggestion = cart.suggestion_mut(suggestion_id)?;
    if value == 0 {
        if suggestion.voters.remove(&user) {
            tx.delete(&suggestion.votes_obj, user.as_str())?;
        }
        return Ok(format!("withdrew a vote on {}", suggestion.name));
    }
    tx.put(&suggestion.votes_obj, user.as_str(), value)?;
    suggestion.voters.insert(user);
    let word = if value > 0 { "for" } else { "against" };
    Ok(format!("voted {word} {}", suggestion.name))
}

/// Deletes the suggestion and adds its quantity to the sku's line.
pub(super) fn accept(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    suggestion_id: &str,
) -> Result<String, Refusal> {
    let suggestion = cart.suggestion(suggestion_id)?.clone();
    let what = add_to_line(tx, cart, ctx, &suggestion.sku, suggestion.quantity)?;
    tx.delete(&cart.suggestions_obj, suggestion_id)?;
    cart.suggestions.remove(suggestion_id);
    Ok(format!(
        "accepted {}'s suggestion {what}",
        suggestion.by_name
    ))
}

/// An editor turns a suggestion down: it goes, and nothing is added.
pub(super) fn reject(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    suggestion_id: &str,
) -> Result<String, Refusal> {
    let suggestion = cart.suggestion(suggestion_id)?;
    let what = format!(
        "turned down {}'s suggestion {}",
        suggestion.by_name, suggestion.name
    );
    tx.delete(&cart.suggestions_obj, suggestion_id)?;
    cart.suggestions.remove(suggestion_id);
    Ok(what)
}

/// Its author takes a suggestion back; anyone else is refused.
pub(super) fn withdraw(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    suggestion_id: &str,
) -> Result<String, Refusal> {
    let suggestion = cart.suggestion(suggestion_id)?;
    if get_string(tx, &suggestion.obj, "by")? != ctx.actor.user_id.to_string() {
        return Err(Refusal::new(
            ErrorCode::Forbidden,
            "only who made a suggestion may withdraw it",
        ));
    }
    let what = format!("withdrew the suggestion {}", suggestion.name);
    tx.delete(&cart.suggestions_obj, suggestion_id)?;
    cart.suggestions.remove(suggestion_id);
    Ok(what)
}
