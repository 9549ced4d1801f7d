//! The sentences of a cart's activity feed.

use cartroom_protocol::MemberRole;

use super::apply::Totals;
use crate::money::format_money;
use crate::policy::with_article;

/// The sentence of an op: "Ana added Blue Mug*2. Subtotal $24.00". A
/// summary that starts with ':' quotes its actor (the store: "Corner Shop:
/// Blue Mug is out of stock. Subtotal $24.00").
pub fn activity_text(actor_name: &str, summary: &str, totals: &Totals) -> String {
    let space = if summary.starts_with(':') { "" } else { " " };
    format!(
        "{actor_name}{space}{summary}. Subtotal {}",
        format_money(totals.subtotal, &totals.currency)
    )
}

/// The kind and sentence of a membership change made by `by`: "Ana added
/// Ben as an editor", "Ana made Ben a viewer", "Ana removed Ben", "Ben left
/// the cart" (`by_self`: the member changed their own membership). `role`
/// is `None` for a removal.
pub fn membership_text(
    by: &str,
    by_self: bool,
    member: &str,
    role: Option<MemberRole>,
    added: bool,
) -> (&'static str, String) {
    match role {
        None if by_self => ("member_removed", format!("{member} left the cart")),
        None => ("member_removed", format!("{by} removed {member}")),
        Some(role) if added => (
            "member_added",
            format!("{by} added {member} as {}", with_article(role)),
        ),
        Some(role) => (
            "role_changed",
            format!("{by} made {member} {}", with_article(role)),
        ),
    }
}
