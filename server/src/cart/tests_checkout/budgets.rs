//! Budgets: up to the exact cent, whoever makes the edit.

use cartroom_protocol::{ErrorCode, LineId, Op, UserId};

use super::*;

#[test]
fn a_budget_takes_its_member_up_to_the_exact_amount_and_not_a_cent_more() {
    let (ana, ben) = (actor("Ana"), actor("Ben"));
    let mut cart = Cart::new(&[&ana, &ben]);
    let stranger = UserId::new_random();
    let refused = cart.refused(
        &ana,
        Op::SetBudget {
            user_id: stranger,
            amount: Some(100),
        },
    );
    assert_eq!(refused.code, ErrorCode::UserNotFound);
    let given = cart.ok(
        &ana,
        Op::SetBudget {
            user_id: ben.user_id,
            amount: Some(2400),
        },
    );
    assert_eq!(given.summary, "gave Ben a budget of $24.00");
    cart.ok(&ben, add("A", 2)); // exactly $24.00
    let over = cart.refused(&ben, change("A", 1));
    assert_eq!(over.code, ErrorCode::OverBudget);
    assert_eq!(
        over.message,
        "over your budget: $0.00 left of $24.00 (this would make $36.00)"
    );
    // Ana may not put Ben over either: the line is Ben's.
    let over = cart.refused(&ana, add("A", 1));
    assert!(
        over.message.starts_with("over Ben's budget"),
        "{}",
        over.message
    );
    // Her own line is hers.
    cart.ok(&ana, add("G", 3));
    let budgets = cart.view().checkout.unwrap().budgets;
    assert_eq!((budgets[0].spent, budgets[0].left), (2400, 0));
    // Assigning her line to Ben would take him over.
    let assign = Op::AssignLine {
        line_id: LineId("G".into()),
        user_id: Some(ben.user_id),
    };
    assert_eq!(cart.refused(&ana, assign).code, ErrorCode::OverBudget);
    // Going down is always fine; then the boundary holds again.
    cart.ok(&ben, change("A", -1));
    cart.ok(&ben, change("A", 1));
    cart.ok(
        &ana,
        Op::SetBudget {
            user_id: ben.user_id,
            amount: None,
        },
    );
    cart.ok(&ben, change("A", 1));
}
