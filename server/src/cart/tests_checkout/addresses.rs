//! Addresses and what ships to each, and split plans that name members.

use cartroom_protocol::checkout::SplitPlan;
use cartroom_protocol::{ErrorCode, LineId, Op, UserId};

use super::*;

#[test]
fn addresses_take_at_most_what_lines_hold_and_forget_removed_lines() {
    let ana = actor("Ana");
    let mut cart = Cart::new(&[&ana]);
    cart.ok(&ana, add("A", 3));
    let home = cart
        .ok(
            &ana,
            Op::AddAddress {
                address: address("Home"),
            },
        )
        .created
        .unwrap();
    let office = cart
        .ok(
            &ana,
            Op::AddAddress {
                address: address("Office"),
            },
        )
        .created
        .unwrap();
    assert_eq!(cart.view().checkout.unwrap().unassigned, 3);
    let ship = |address_id: &str, quantity| Op::SetAllocation {
        address_id: address_id.into(),
        line_id: LineId("A".into()),
        quantity,
    };
    cart.ok(&ana, ship(&home, 2));
    assert_eq!(
        cart.refused(&ana, ship(&office, 2)).code,
        ErrorCode::QuantityOutOfRange
    );
    cart.ok(&ana, ship(&office, 1));
    let view = cart.view().checkout.unwrap();
    assert_eq!(view.unassigned, 0);
    assert_eq!(view.addresses[0].address.country, "US");
    cart.ok(
        &ana,
        Op::RemoveLine {
            line_id: LineId("A".into()),
        },
    );
    let view = cart.view().checkout.unwrap();
    assert!(view.addresses.iter().all(|a| a.lines.is_empty()));
    for i in 2..10 {
        cart.ok(
            &ana,
            Op::AddAddress {
                address: address(&format!("Place {i}")),
            },
        );
    }
    let eleventh = Op::AddAddress {
        address: address("One too many"),
    };
    assert_eq!(cart.refused(&ana, eleventh).code, ErrorCode::TooMany);
    let mut bad = address("Bad");
    bad.country = "USA".into();
    assert_eq!(
        cart.refused(&ana, Op::AddAddress { address: bad }).code,
        ErrorCode::InvalidField
    );
}

#[test]
fn a_split_names_members_only() {
    let (ana, ben) = (actor("Ana"), actor("Ben"));
    let mut cart = Cart::new(&[&ana, &ben]);
    let even = Op::SetSplit {
        plan: SplitPlan::Even {
            payers: vec![ana.user_id, ben.user_id],
        },
    };
    assert_eq!(
        cart.ok(&ana, even).summary,
        if ana.user_id < ben.user_id {
            "chose to split evenly among Ana, Ben"
        } else {
            "chose to split evenly among Ben, Ana"
        }
    );
    let stranger = Op::SetSplit {
        plan: SplitPlan::OnePayer {
            payer: UserId::new_random(),
        },
    };
    assert_eq!(cart.refused(&ana, stranger).code, ErrorCode::UserNotFound);
    assert_eq!(
        cart.view().checkout.unwrap().split,
        Some(SplitPlan::Even {
            payers: vec![ana.user_id, ben.user_id]
        })
    );
}
