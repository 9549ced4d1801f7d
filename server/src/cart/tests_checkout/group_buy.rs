//! The group-buy price comes at the tier and goes below it.

use super::*;

#[test]
fn group_buy_price_comes_at_the_tier_and_goes_below_it() {
    let (ana, ben) = (actor("Ana"), actor("Ben"));
    let mut cart = Cart::new(&[&ana, &ben]);
    cart.ok(&ana, add("G", 6));
    let line = &cart.view().lines[0];
    assert_eq!((line.unit_price, line.line_total), (1200, 7200));
    let tier = line.group_buy.clone().unwrap();
    assert!(!tier.active);
    assert_eq!(
        (tier.min_quantity, tier.price, tier.list_price),
        (10, 950, 1200)
    );

    let reached = cart.ok(&ben, add("G", 4));
    assert_eq!(
        activity_text("Ben", &reached.summary, &reached.totals),
        "Ben added Product G*4 (Product G: group price $9.50 each). Subtotal $95.00"
    );
    let view = cart.view();
    assert_eq!(view.lines[0].unit_price, 950);
    assert_eq!(view.subtotal, 9500);
    assert!(view.lines[0].group_buy.as_ref().unwrap().active);

    let lost = cart.ok(&ana, change("G", -1));
    assert_eq!(
        activity_text("Ana", &lost.summary, &lost.totals),
        "Ana changed Product G to 9 (Product G: back to $12.00 each). Subtotal $108.00"
    );
    assert_eq!(cart.view().subtotal, 9 * 1200);
}
