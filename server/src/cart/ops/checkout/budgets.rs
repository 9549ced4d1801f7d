//! Budgets and who pays for a line: a member's spending limit, and a line
//! made someone else's (its share counts against their budget; the check
//! itself runs on every op, in `cart::apply`).

use automerge::ObjType;
use automerge::transaction::Transactable;
use cartroom_protocol::UserId;

use super::super::Tx;
use super::{checkout_map, member_name};
use crate::cart::apply::OpContext;
use crate::cart::checkout::Budget;
use crate::cart::mirror::CartMirror;
use crate::money::format_money;
use crate::refusal::Refusal;

pub(super) fn set_budget(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    user: UserId,
    amount: Option<i64>,
) -> Result<String, Refusal> {
    let name = member_name(ctx, user)?;
    let key = user.to_string();
    if let (Some(amount), Some(budget)) = (amount, cart.checkout.budgets.get(&key))
        && budget.amount == amount
        && budget.name == name
    {
        return Ok(format!("kept {name}'s budget"));
    }
    let budgets = checkout_map(tx, cart, "budgets", |c| &mut c.checkout.budgets_obj)?;
    let Some(amount) = amount else {
        if cart.checkout.budgets.remove(&key).is_some() {
            tx.delete(&budgets, key.as_str())?;
        }
        return Ok(format!("removed {name}'s budget"));
    };
    let entry = tx.put_object(&budgets, key.as_str(), ObjType::Map)?;
    tx.put(&entry, "amount", amount)?;
    tx.put(&entry, "name", name.as_str())?;
    cart.checkout.budgets.insert(
        key,
        Budget {
            amount,
            name: name.clone(),
        },
    );
    Ok(format!(
        "gave {name} a budget of {}",
        format_money(amount, &cart.currency)
    ))
}

pub(super) fn assign_line(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    line_id: &str,
    user: Option<UserId>,
) -> Result<String, Refusal> {
    let assignee = user
        .map(|u| Ok::<_, Refusal>((u, member_name(ctx, u)?)))
        .transpose()?;
    let line = cart.line_mut(line_id)?;
    match assignee {
        Some((user, name)) if user.to_string() != line.added_by => {
            tx.put(&line.obj, "assigned_to", user.to_string())?;
            tx.put(&line.obj, "assigned_to_name", name.as_str())?;
            line.assigned = Some((user.to_string(), name.clone()));
            Ok(format!("made {name} pay for {}", line.name))
        }
        // Assigning a line to who added it is taking the assignment back.
        _ => {
            if line.assigned.take().is_some() {
                tx.delete(&line.obj, "assigned_to")?;
                tx.delete(&line.obj, "assigned_to_name")?;
            }
            let who = line
                .added_by
                .parse()
                .ok()
                .and_then(|u: UserId| ctx.members.get(&u).cloned())
                .unwrap_or_else(|| "who added it".into());
            Ok(format!("gave {} back to {who}", line.name))
        }
    }
}
