//! Ops on the cart itself: its note and its name.

use automerge::ROOT;
use automerge::transaction::Transactable;

use super::Tx;
use crate::cart::mirror::CartMirror;
use crate::refusal::Refusal;

pub(super) fn set_cart_note(tx: &mut Tx<'_>, note: &str) -> Result<String, Refusal> {
    tx.put(ROOT, "note", note)?;
    Ok(format!("set the cart note: \"{note}\""))
}

pub(super) fn rename(
    tx: &mut Tx<'_>,
    cart: &mut CartMirror,
    name: &str,
) -> Result<String, Refusal> {
    let name = name.trim();
    tx.put(ROOT, "name", name)?;
    cart.name = name.to_owned();
    Ok(format!("renamed the cart to \"{name}\""))
}
