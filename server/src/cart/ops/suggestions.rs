//! Suggestions: any member (viewers included) proposes a product, members
//! vote, an editor accepts it into the cart.

use std::collections::HashSet;

use automerge::ObjType;
use automerge::transaction::Transactable;
use cartroom_protocol::ErrorCode;
use cartroom_protocol::limits::MAX_SUGGESTIONS;

use super::lines::add_to_line;
use super::{Done, Tx, listing};
use crate::cart::apply::OpContext;
use crate::cart::mirror::{CartMirror, SuggestionMirror};
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
