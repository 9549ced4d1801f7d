//! Checkout ops: lock and unlock, the deadline, budgets, who pays for a
//! line, approvals, the split plan, addresses and what is shipped to each;
//! and the server's own ops (the deadline's lock, an order's status).
//!
//! Everything lives under the root `checkout` map, made by the first of
//! these ops. Which phase takes which op is the policy's rule
//! ([`crate::policy::check_phase`]), checked before any of this runs.

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ROOT};
use cartroom_protocol::checkout::{Address, CartPhase, OrderStatus, SplitPlan};
use cartroom_protocol::{ErrorCode, Op, UserId};

use super::{Done, Tx};
use crate::cart::apply::{OpContext, check_money};
use crate::cart::checkout::{AddressMirror, Budget, utc_minute};
use crate::cart::mirror::CartMirror;
use crate::cart::server_op::{ServerOp, short_id};
use crate::money::format_money;
use crate::refusal::Refusal;
use crate::text;

/// Shipping addresses one cart may have.
pub const MAX_ADDRESSES: usize = 10;
/// Payers one split plan may name.
const MAX_PAYERS: usize = 100;
/// How far ahead a deadline may be set: a year.
const MAX_DEADLINE_AHEAD_MS: i64 = 366 * 86_400_000;

pub(super) fn apply(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    op: &Op,
) -> Result<Done, Refusal> {
    let summary = match op {
        Op::Lock => lock(tx, cart),
        Op::Unlock => unlock(tx, cart),
        Op::SetDeadline { at } => set_deadline(tx, cart, ctx, *at),
        Op::SetBudget { user_id, amount } => set_budget(tx, cart, ctx, *user_id, *amount),
        Op::AssignLine { line_id, user_id } => assign_line(tx, cart, ctx, &line_id.0, *user_id),
        Op::SetApprovalThreshold { amount } => set_approval_threshold(tx, cart, *amount),
        Op::RequestApproval => decide(tx, cart, ctx, CartPhase::PendingApproval, "requested", ""),
        Op::Approve { comment } => decide(
            tx,
            cart,
            ctx,
            CartPhase::Approved,
            "approved",
            comment.as_deref().unwrap_or(""),
        ),
        Op::Reject { comment } => decide(tx, cart, ctx, CartPhase::Open, "rejected", comment),
        Op::SetSplit { plan } => set_split(tx, cart, ctx, plan),
        Op::AddAddress { address } => return add_address(tx, cart, ctx, address),
        Op::RemoveAddress { address_id } => remove_address(tx, cart, address_id),
        Op::SetAllocation {
            address_id,
            line_id,
            quantity,
        } => set_allocation(tx, cart, address_id, &line_id.0, *quantity),
        other => Err(Refusal::new(
            ErrorCode::Internal,
            format!("{} is not a checkout op", other.kind()),
        )),
    }?;
    Ok(summary.into())
}

pub(super) fn apply_server(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    _ctx: &OpContext<'_>,
    op: &ServerOp,
) -> Result<String, Refusal> {
    match op {
        ServerOp::LockAtDeadline { deadline } => {
            if cart.checkout.deadline != Some(*deadline) {
                // Moved or cleared meanwhile: this deadline is gone.
                return Ok("found no deadline to keep".into());
            }
            let obj = checkout_obj(tx, cart)?;
            tx.delete(&obj, "deadline")?;
            cart.checkout.deadline = None;
            if cart.checkout.phase != CartPhase::Open {
                return Ok("cleared the deadline of a cart no longer open".into());
            }
            set_phase(tx, cart, CartPhase::Locked)?;
            Ok(format!(
                "locked the cart for checkout: the deadline ({}) passed",
                utc_minute(*deadline)
            ))
        }
        ServerOp::SyncOrder {
            order_id,
            status,
            total,
            by_name,
        } => {
            if cart.checkout.order.as_ref() == Some(&(order_id.clone(), *status)) {
                // Told twice (a sweep after a restart): nothing to change.
                return Ok(format!("found order {} up to date", short_id(order_id)));
            }
            let obj = checkout_obj(tx, cart)?;
            let order = tx.put_object(&obj, "order", ObjType::Map)?;
            tx.put(&order, "id", order_id.as_str())?;
            tx.put(&order, "status", status.as_str())?;
            tx.put(&order, "total", *total)?;
            cart.checkout.order = Some((order_id.clone(), *status));
            let short = short_id(order_id);
            let money = format_money(*total, &cart.currency);
            Ok(match status {
                OrderStatus::Pending => {
                    set_phase(tx, cart, CartPhase::Ordered)?;
                    format!("took {by_name}'s order {short} for {money}; the cart is read-only")
                }
                OrderStatus::Confirmed => format!("marked order {short} confirmed ({by_name})"),
                OrderStatus::Fulfilled => format!("marked order {short} fulfilled ({by_name})"),
                OrderStatus::Cancelled => {
                    set_phase(tx, cart, CartPhase::Open)?;
                    tx.delete(&obj, "approval")?;
                    format!("cancelled order {short} ({by_name}); the cart is open again")
                }
            })
        }
    }
}

/// `root.checkout`, made (phase `open`) by the first checkout op.
fn checkout_obj(tx: &mut Tx<'_>, cart: &mut CartMirror) -> Result<ObjId, Refusal> {
    if let Some(obj) = &cart.checkout.obj {
        return Ok(obj.clone());
    }
    let obj = tx.put_object(ROOT, "checkout", ObjType::Map)?;
    tx.put(&obj, "phase", CartPhase::Open.as_str())?;
    cart.checkout.obj = Some(obj.clone());
    Ok(obj)
}

/// A map under `root.checkout`, made when first needed.
fn checkout_map(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    key: &str,
    which: fn(&mut CartMirror) -> &mut Option<ObjId>,
) -> Result<ObjId, Refusal> {
    if let Some(obj) = which(cart) {
        return Ok(obj.clone());
    }
    let parent = checkout_obj(tx, cart)?;
    let obj = tx.put_object(&parent, key, ObjType::Map)?;
    *which(cart) = Some(obj.clone());
    Ok(obj)
}

fn set_phase(tx: &mut Tx<'_>, cart: &mut CartMirror, phase: CartPhase) -> Result<(), Refusal> {
    let obj = checkout_obj(tx, cart)?;
    tx.put(&obj, "phase", phase.as_str())?;
    cart.checkout.phase = phase;
    Ok(())
}

/// The name of a member, or `user_not_found`.
fn member_name(ctx: &OpContext<'_>, user: UserId) -> Result<String, Refusal> {
    ctx.members.get(&user).cloned().ok_or_else(|| {
        Refusal::new(
            ErrorCode::UserNotFound,
            format!("{user} is not a member of this cart"),
        )
    })
}

fn lock(tx: &mut Tx<'_>, cart: &mut CartMirror) -> Result<String, Refusal> {
    set_phase(tx, cart, CartPhase::Locked)?;
    // A lock by hand stands for the deadline: it will not lock again later.
    if cart.checkout.deadline.take().is_some() {
        let obj = checkout_obj(tx, cart)?;
        tx.delete(&obj, "deadline")?;
    }
    Ok("locked the cart for checkout".into())
}

fn unlock(tx: &mut Tx<'_>, cart: &mut CartMirror) -> Result<String, Refusal> {
    set_phase(tx, cart, CartPhase::Open)?;
    // An approval was for the cart as it was; after changes it is asked again.
    let obj = checkout_obj(tx, cart)?;
    tx.delete(&obj, "approval")?;
    Ok("unlocked the cart".into())
}

fn set_deadline(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    at: Option<i64>,
) -> Result<String, Refusal> {
    let obj = checkout_obj(tx, cart)?;
    let Some(at) = at else {
        if cart.checkout.deadline.take().is_some() {
            tx.delete(&obj, "deadline")?;
        }
        return Ok("cleared the checkout deadline".into());
    };
    if at <= ctx.now_ms || at > ctx.now_ms + MAX_DEADLINE_AHEAD_MS {
        return Err(Refusal::new(
            ErrorCode::InvalidField,
            "a deadline is in the future, at most a year ahead",
        ));
    }
    tx.put(&obj, "deadline", at)?;
    cart.checkout.deadline = Some(at);
    Ok(format!("set the checkout deadline to {}", utc_minute(at)))
}

fn set_budget(
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

fn assign_line(
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

fn set_approval_threshold(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    amount: Option<i64>,
) -> Result<String, Refusal> {
    let obj = checkout_obj(tx, cart)?;
    match amount {
        Some(amount) => {
            tx.put(&obj, "approval_over", amount)?;
            cart.checkout.approval_over = Some(amount);
            Ok(format!(
                "required approval for orders over {}",
                format_money(amount, &cart.currency)
            ))
        }
        None => {
            if cart.checkout.approval_over.take().is_some() {
                tx.delete(&obj, "approval_over")?;
            }
            Ok("removed the cart's approval threshold".into())
        }
    }
}

/// An approval request or decision: the new phase and the `approval` map.
fn decide(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    phase: CartPhase,
    status: &str,
    comment: &str,
) -> Result<String, Refusal> {
    set_phase(tx, cart, phase)?;
    let obj = checkout_obj(tx, cart)?;
    let approval = tx.put_object(&obj, "approval", ObjType::Map)?;
    tx.put(&approval, "status", status)?;
    tx.put(&approval, "by", ctx.actor.user_id.to_string())?;
    tx.put(&approval, "by_name", ctx.actor.name.as_str())?;
    tx.put(&approval, "comment", comment.trim())?;
    tx.put(&approval, "at", ctx.now_ms)?;
    let said = if comment.trim().is_empty() {
        String::new()
    } else {
        format!(": \"{}\"", comment.trim())
    };
    Ok(match phase {
        CartPhase::PendingApproval => "asked for approval of the order".into(),
        CartPhase::Approved => format!("approved the order{said}"),
        _ => format!("rejected the order{said}; the cart is open again"),
    })
}

fn set_split(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    plan: &SplitPlan,
) -> Result<String, Refusal> {
    let names = |users: &mut dyn Iterator<Item = UserId>| -> Result<Vec<String>, Refusal> {
        users.map(|u| member_name(ctx, u)).collect()
    };
    let summary = match plan {
        SplitPlan::OnePayer { payer } => {
            format!("chose one payer: {}", member_name(ctx, *payer)?)
        }
        SplitPlan::Even { payers } => {
            let mut distinct = payers.clone();
            distinct.sort();
            distinct.dedup();
            let names = names(&mut distinct.into_iter())?;
            format!("chose to split evenly among {}", names.join(", "))
        }
        SplitPlan::ByItem => "chose to split by item".into(),
        SplitPlan::Custom { amounts, rest } => {
            names(&mut amounts.keys().copied())?;
            format!(
                "chose custom shares; {} pays the rest",
                member_name(ctx, *rest)?
            )
        }
    };
    let obj = checkout_obj(tx, cart)?;
    let json = serde_json::to_string(plan)
        .map_err(|e| Refusal::new(ErrorCode::Internal, e.to_string()))?;
    tx.put(&obj, "split", json)?;
    cart.checkout.split = Some(plan.clone());
    Ok(summary)
}

fn add_address(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    ctx: &OpContext<'_>,
    address: &Address,
) -> Result<Done, Refusal> {
    if cart.checkout.addresses.len() >= MAX_ADDRESSES {
        return Err(Refusal::new(
            ErrorCode::TooMany,
            format!("a cart has at most {MAX_ADDRESSES} addresses"),
        ));
    }
    // Unique per (user, op_id): the room answers a reused op_id before this.
    let id = format!("a-{}-{}", ctx.actor.user_id.0.simple(), ctx.op_id.0);
    let addresses = checkout_map(tx, cart, "addresses", |c| &mut c.checkout.addresses_obj)?;
    let obj = tx.put_object(&addresses, id.as_str(), ObjType::Map)?;
    let label = address.label.trim();
    for (key, value) in [
        ("label", label),
        ("name", address.name.trim()),
        ("line1", address.line1.trim()),
        ("line2", address.line2.trim()),
        ("city", address.city.trim()),
        ("postal_code", address.postal_code.trim()),
        ("country", &address.country.trim().to_ascii_uppercase()),
    ] {
        tx.put(&obj, key, value)?;
    }
    let lines_obj = tx.put_object(&obj, "lines", ObjType::Map)?;
    cart.checkout.addresses.insert(
        id.clone(),
        AddressMirror {
            obj,
            lines_obj,
            label: label.to_owned(),
            lines: BTreeMap::new(),
        },
    );
    Ok(Done {
        summary: format!("added the address \"{label}\""),
        created: Some(id),
    })
}

fn remove_address(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    address_id: &str,
) -> Result<String, Refusal> {
    let address = cart
        .checkout
        .addresses
        .remove(address_id)
        .ok_or_else(|| no_address(address_id))?;
    let addresses = checkout_map(tx, cart, "addresses", |c| &mut c.checkout.addresses_obj)?;
    tx.delete(&addresses, address_id)?;
    Ok(format!("removed the address \"{}\"", address.label))
}

fn set_allocation(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    address_id: &str,
    line_id: &str,
    quantity: i64,
) -> Result<String, Refusal> {
    let line = cart.line(line_id)?;
    let (name, in_line) = (line.name.clone(), line.quantity);
    let elsewhere: i64 = cart
        .checkout
        .addresses
        .iter()
        .filter(|(id, _)| id.as_str() != address_id)
        .filter_map(|(_, a)| a.lines.get(line_id))
        .sum();
    let address = cart
        .checkout
        .addresses
        .get_mut(address_id)
        .ok_or_else(|| no_address(address_id))?;
    if quantity + elsewhere > in_line {
        return Err(Refusal::new(
            ErrorCode::QuantityOutOfRange,
            format!(
                "the cart has {in_line} of {name} and {elsewhere} go elsewhere: ship at most {}",
                in_line - elsewhere
            ),
        ));
    }
    if quantity == 0 {
        if address.lines.remove(line_id).is_some() {
            tx.delete(&address.lines_obj, line_id)?;
        }
        return Ok(format!("shipped no {name} to \"{}\"", address.label));
    }
    tx.put(&address.lines_obj, line_id, quantity)?;
    address.lines.insert(line_id.to_owned(), quantity);
    Ok(format!(
        "shipped {name}*{quantity} to \"{}\"",
        address.label
    ))
}

/// Drops what addresses take of a line that is removed.
pub(super) fn forget_allocations(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    line_id: &str,
) -> Result<(), Refusal> {
    for address in cart.checkout.addresses.values_mut() {
        if address.lines.remove(line_id).is_some() {
            tx.delete(&address.lines_obj, line_id)?;
        }
    }
    Ok(())
}

fn no_address(address_id: &str) -> Refusal {
    Refusal::new(
        ErrorCode::InvalidField,
        format!("no address {address_id} in this cart"),
    )
}

/// The bounds of a split plan that need no document.
pub(crate) fn validate_plan(plan: &SplitPlan) -> Result<(), Refusal> {
    match plan {
        SplitPlan::Even { payers } if payers.is_empty() || payers.len() > MAX_PAYERS => {
            Err(Refusal::new(
                ErrorCode::InvalidField,
                format!("an even split has 1 to {MAX_PAYERS} payers"),
            ))
        }
        SplitPlan::Custom { amounts, .. } if amounts.len() > MAX_PAYERS => Err(Refusal::new(
            ErrorCode::InvalidField,
            format!("custom shares name at most {MAX_PAYERS} payers"),
        )),
        SplitPlan::Custom { amounts, .. } => {
            amounts.values().try_for_each(|amount| check_money(*amount))
        }
        _ => Ok(()),
    }
}

/// The bounds of an address (`docs/protocol.md` section 7).
pub(crate) fn validate_address(a: &Address) -> Result<(), Refusal> {
    for (what, value, min, max) in [
        ("an address label", &a.label, 1, 40),
        ("a recipient name", &a.name, 1, 100),
        ("an address line", &a.line1, 1, 200),
        ("an address line", &a.line2, 0, 200),
        ("a city", &a.city, 1, 100),
        ("a postal code", &a.postal_code, 1, 20),
    ] {
        let value = value.trim();
        if value.chars().count() < min {
            return Err(Refusal::new(
                ErrorCode::InvalidField,
                format!("{what} has {min} to {max} characters"),
            ));
        }
        text::check_line(what, value, max)?;
    }
    let country = a.country.trim();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(Refusal::new(
            ErrorCode::InvalidField,
            "a country is a two-letter ISO code, like US",
        ));
    }
    Ok(())
}
