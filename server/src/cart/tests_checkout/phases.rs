//! Lock and unlock, the deadline's lock and its reminder, and an ordered
//! cart that is read-only until its order is cancelled.

use cartroom_protocol::checkout::{CartPhase, OrderStatus};
use cartroom_protocol::{ErrorCode, LineId, Op};

use super::*;

#[test]
fn a_locked_cart_refuses_line_edits_but_takes_suggestions_until_unlocked() {
    let (ana, ben) = (actor("Ana"), actor("Ben"));
    let mut cart = Cart::new(&[&ana, &ben]);
    cart.ok(&ben, add("A", 1));
    assert_eq!(cart.phase(), CartPhase::Open);
    let locked = cart.ok(&ana, Op::Lock);
    assert_eq!(
        activity_text("Ana", &locked.summary, &locked.totals),
        "Ana locked the cart for checkout. Subtotal $12.00"
    );
    assert_eq!(cart.phase(), CartPhase::Locked);
    for op in [
        add("A", 1),
        change("A", 1),
        Op::RemoveLine {
            line_id: LineId("A".into()),
        },
        Op::SetCartNote { note: "x".into() },
    ] {
        assert_eq!(cart.refused(&ben, op).code, ErrorCode::CartLocked);
    }
    cart.ok(
        &ben,
        Op::Suggest {
            sku: "G".into(),
            quantity: 1,
            note: None,
        },
    );
    assert_eq!(cart.refused(&ana, Op::Lock).code, ErrorCode::WrongPhase);
    cart.ok(&ana, Op::Unlock);
    assert_eq!(cart.phase(), CartPhase::Open);
    cart.ok(&ben, change("A", 1));
    assert_eq!(cart.refused(&ana, Op::Unlock).code, ErrorCode::WrongPhase);
}

#[test]
fn the_deadline_locks_once_and_a_moved_deadline_does_not() {
    let ana = actor("Ana");
    let mut cart = Cart::new(&[&ana]);
    let past = Op::SetDeadline { at: Some(NOW - 1) };
    assert_eq!(cart.refused(&ana, past).code, ErrorCode::InvalidField);
    let at = NOW + 3_600_000;
    cart.ok(&ana, Op::SetDeadline { at: Some(at) });
    let view = cart.view().checkout.unwrap();
    assert_eq!(view.deadline, Some(at));
    assert_eq!(
        CartMirror::load(&cart.doc).unwrap().totals().lock_deadline,
        Some(at),
        "the deadline goes with each change to the store"
    );

    // A deadline that was moved is not kept.
    let stale = cart.server(ServerOp::LockAtDeadline { deadline: at - 1 });
    assert!(stale.change.is_none());
    assert_eq!(cart.phase(), CartPhase::Open);

    let locked = cart.server(ServerOp::LockAtDeadline { deadline: at });
    assert!(locked.change.is_some());
    assert_eq!(
        activity_text("Cartroom", &locked.summary, &locked.totals),
        "Cartroom locked the cart for checkout: the deadline (2027-01-15 09:00 UTC) passed. Subtotal $0.00"
    );
    assert_eq!(locked.totals.lock_deadline, None);
    let view = cart.view().checkout.unwrap();
    assert_eq!((view.phase, view.deadline), (CartPhase::Locked, None));
    // Firing again changes nothing.
    assert!(
        cart.server(ServerOp::LockAtDeadline { deadline: at })
            .change
            .is_none()
    );
}

#[test]
fn an_ordered_cart_is_read_only_until_its_order_is_cancelled() {
    let ana = actor("Ana");
    let mut cart = Cart::new(&[&ana]);
    cart.ok(&ana, add("A", 2));
    cart.ok(&ana, Op::Lock);
    let placed = cart.server(ServerOp::SyncOrder {
        order_id: "3f2a91c0-aaaa-bbbb-cccc-000000000000".into(),
        status: OrderStatus::Pending,
        total: 2400,
        by_name: "Ana".into(),
    });
    assert_eq!(
        placed.summary,
        "took Ana's order 3F2A91C0 for $24.00; the cart is read-only"
    );
    let view = cart.view().checkout.unwrap();
    assert_eq!(view.phase, CartPhase::Ordered);
    assert_eq!(view.order.unwrap().status, OrderStatus::Pending);
    for op in [
        add("A", 1),
        Op::Unlock,
        Op::Suggest {
            sku: "A".into(),
            quantity: 1,
            note: None,
        },
        Op::Rename { name: "x".into() },
    ] {
        assert_eq!(cart.refused(&ana, op).code, ErrorCode::CartLocked);
    }
    // Told twice: nothing changes.
    let again = cart.server(ServerOp::SyncOrder {
        order_id: "3f2a91c0-aaaa-bbbb-cccc-000000000000".into(),
        status: OrderStatus::Pending,
        total: 2400,
        by_name: "Ana".into(),
    });
    assert!(again.change.is_none());
    cart.server(ServerOp::SyncOrder {
        order_id: "3f2a91c0-aaaa-bbbb-cccc-000000000000".into(),
        status: OrderStatus::Cancelled,
        total: 2400,
        by_name: "Sam for the store".into(),
    });
    assert_eq!(cart.phase(), CartPhase::Open);
    cart.ok(&ana, add("A", 1));
}

#[test]
fn a_reminder_is_given_once_per_deadline_and_only_while_the_cart_is_open() {
    let ana = actor("Ana");
    let mut cart = Cart::new(&[&ana]);
    let at = NOW + 3_600_000;
    cart.ok(&ana, Op::SetDeadline { at: Some(at) });
    // Not for a deadline that was moved.
    let stale = cart.server(ServerOp::RemindOfDeadline { deadline: at - 1 });
    assert!(stale.change.is_none());

    let reminded = cart.server(ServerOp::RemindOfDeadline { deadline: at });
    assert!(reminded.change.is_some());
    assert_eq!(
        activity_text("Cartroom", &reminded.summary, &reminded.totals),
        "Cartroom reminded everyone: the cart locks for checkout at 2027-01-15 09:00 UTC. Subtotal $0.00"
    );
    // The document remembers: a second reminder changes nothing.
    let again = cart.server(ServerOp::RemindOfDeadline { deadline: at });
    assert!(again.change.is_none());
    assert_eq!(cart.phase(), CartPhase::Open);

    // A deadline moved later is reminded of again; a locked cart is not.
    let later = at + 60_000;
    cart.ok(&ana, Op::SetDeadline { at: Some(later) });
    assert!(
        cart.server(ServerOp::RemindOfDeadline { deadline: later })
            .change
            .is_some()
    );
    let last = later + 60_000;
    cart.ok(&ana, Op::SetDeadline { at: Some(last) });
    cart.ok(&ana, Op::Lock);
    assert!(
        cart.server(ServerOp::RemindOfDeadline { deadline: last })
            .change
            .is_none()
    );
}
