//! Shipping addresses (at most [`MAX_ADDRESSES`] a cart) and how many units
//! of each line go to each.

use std::collections::BTreeMap;

use automerge::ObjType;
use automerge::transaction::Transactable;
use cartroom_protocol::ErrorCode;
use cartroom_protocol::checkout::Address;

use super::super::{Done, Tx};
use super::checkout_map;
use crate::cart::apply::OpContext;
use crate::cart::checkout::AddressMirror;
use crate::cart::mirror::CartMirror;
use crate::refusal::Refusal;
use crate::text;

/// Shipping addresses one cart may have.
pub const MAX_ADDRESSES: usize = 10;

pub(super) fn add_address(
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

pub(super) fn remove_address(
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

pub(super) fn set_allocation(
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
pub(in crate::cart) fn forget_allocations(
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
