//! Product pictures drawn by the server itself, so that it needs no outside
//! network or image files.

use std::fmt::Write as _;

use super::Listing;

/// A flat SVG from the product's colour and initials.
pub fn product_svg(listing: &Listing) -> String {
    let initials: String = listing
        .product
        .name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .filter(|c| c.is_alphanumeric())
        .take(2)
        .collect();
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="160" height="160" viewBox="0 0 160 160"><rect width="160" height="160" rx="24" fill="{color}"/><circle cx="120" cy="40" r="46" fill="#ffffff" opacity="0.14"/><text x="80" y="96" font-family="system-ui, sans-serif" font-size="52" font-weight="700" text-anchor="middle" fill="#ffffff">{initials}</text></svg>"##,
        color = listing.color,
        initials = initials,
    );
    svg
}
