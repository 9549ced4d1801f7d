//! Checkout's promises on documents in memory: phases, the deadline's
//! server op, group buy, budgets, approvals, addresses and orders.

use std::collections::HashMap;

use automerge::Automerge;
use cartroom_protocol::checkout::{Address, CartPhase, OrderStatus, SplitPlan};
use cartroom_protocol::http::{GroupBuy, Product, StoreInfo};
use cartroom_protocol::{ErrorCode, LineId, Op, OpId, UserId};

use super::*;
use crate::catalog::{Catalog, Listing};
use crate::refusal::Refusal;

const NOW: i64 = 1_800_000_000_000;

fn catalog() -> Catalog {
    let product = |sku: &str, price, group_buy: Option<(i64, i64)>| Listing {
        product: Product {
            sku: sku.into(),
            name: format!("Product {sku}"),
            price,
            currency: "USD".into(),
            stock: 500,
            image_url: String::new(),
            group_buy: group_buy.map(|(min_quantity, price)| GroupBuy {
                min_quantity,
                price,
            }),
        },
        color: "#000".into(),
    };
    Catalog::new(
        StoreInfo {
            id: "t".into(),
            name: "Test".into(),
            currency: "USD".into(),
        },
        vec![
            product("A", 1200, None),
            product("G", 1200, Some((10, 950))),
        ],
    )
}

/// A cart and its members, with the room's part played by hand.
struct Cart {
    doc: Automerge,
    members: HashMap<UserId, String>,
    ops: usize,
}

impl Cart {
    fn new(people: &[&Actor]) -> Self {
        Self {
            doc: new_cart_doc("Team lunch", "USD", people[0], NOW, NodeId(0)),
            members: people.iter().map(|a| (a.user_id, a.name.clone())).collect(),
            ops: 0,
        }
    }

    fn ctx_apply(
        &mut self,
        who: &Actor,
        apply: impl FnOnce(&mut Automerge, &mut CartMirror, &OpContext<'_>) -> Result<Applied, Refusal>,
    ) -> Result<Applied, Refusal> {
        self.ops += 1;
        let catalog = catalog();
        let op_id = OpId(format!("op-{}", self.ops));
        let mut mirror = CartMirror::load(&self.doc).unwrap();
        let ctx = OpContext {
            actor: who,
            op_id: &op_id,
            catalog: &catalog,
            now_ms: NOW,
            node: NodeId(0),
            members: &self.members,
        };
        let applied = apply(&mut self.doc, &mut mirror, &ctx);
        assert_eq!(
            mirror,
            CartMirror::load(&self.doc).unwrap(),
            "mirror out of step"
        );
        applied
    }

    fn op(&mut self, who: &Actor, op: Op) -> Result<Applied, Refusal> {
        self.ctx_apply(who, |doc, mirror, ctx| apply_op(doc, mirror, ctx, &op))
    }

    fn ok(&mut self, who: &Actor, op: Op) -> Applied {
        let text = format!("{op:?}");
        self.op(who, op).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn refused(&mut self, who: &Actor, op: Op) -> Refusal {
        let heads = self.doc.get_heads();
        let refusal = self.op(who, op).unwrap_err();
        assert_eq!(
            self.doc.get_heads(),
            heads,
            "a refusal changed the document"
        );
        refusal
    }

    fn server(&mut self, op: ServerOp) -> Applied {
        let server = server_actor();
        self.ctx_apply(&server, |doc, mirror, ctx| {
            apply_server_op(doc, mirror, ctx, &op)
        })
        .unwrap()
    }

    fn view(&self) -> cartroom_protocol::http::CartView {
        view(&self.doc).unwrap()
    }

    fn phase(&self) -> CartPhase {
        self.view().checkout.unwrap().phase
    }
}

fn actor(name: &str) -> Actor {
    Actor {
        user_id: UserId::new_random(),
        name: name.into(),
    }
}

fn add(sku: &str, quantity: i64) -> Op {
    Op::AddLine {
        sku: sku.into(),
        quantity,
    }
}

fn change(sku: &str, delta: i64) -> Op {
    Op::ChangeQuantity {
        line_id: LineId(sku.into()),
        delta,
    }
}

fn address(label: &str) -> Address {
    Address {
        label: label.into(),
        name: "Ana Lima".into(),
        line1: "1 Main St".into(),
        line2: String::new(),
        city: "Springfield".into(),
        postal_code: "12345".into(),
        country: "us".into(),
    }
}

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

#[test]
fn approval_is_asked_decided_and_a_rejection_reopens_the_cart() {
    let (ana, ben) = (actor("Ana"), actor("Ben"));
    let mut cart = Cart::new(&[&ana, &ben]);
    cart.ok(&ben, add("A", 1));
    cart.ok(&ana, Op::SetApprovalThreshold { amount: Some(1000) });
    assert_eq!(
        cart.refused(&ana, Op::RequestApproval).code,
        ErrorCode::WrongPhase
    );
    cart.ok(&ana, Op::Lock);
    cart.ok(&ana, Op::RequestApproval);
    assert_eq!(cart.phase(), CartPhase::PendingApproval);
    assert_eq!(
        cart.refused(
            &ana,
            Op::SetSplit {
                plan: SplitPlan::ByItem
            }
        )
        .code,
        ErrorCode::CartLocked
    );
    let rejected = cart.ok(
        &ana,
        Op::Reject {
            comment: "too much cake".into(),
        },
    );
    assert_eq!(
        rejected.summary,
        "rejected the order: \"too much cake\"; the cart is open again"
    );
    let view = cart.view().checkout.unwrap();
    assert_eq!(view.phase, CartPhase::Open);
    let approval = view.approval.unwrap();
    assert_eq!(
        (approval.status.as_str(), approval.comment.as_str()),
        ("rejected", "too much cake")
    );
    cart.ok(&ben, change("A", 1));
    cart.ok(&ana, Op::Lock);
    cart.ok(&ana, Op::RequestApproval);
    cart.ok(
        &ana,
        Op::Approve {
            comment: Some("fine".into()),
        },
    );
    assert_eq!(cart.phase(), CartPhase::Approved);
    assert_eq!(
        cart.refused(&ana, Op::Approve { comment: None }).code,
        ErrorCode::WrongPhase
    );
    // Unlocking drops the approval: the cart must be approved again.
    cart.ok(&ana, Op::Unlock);
    assert!(cart.view().checkout.unwrap().approval.is_none());
}

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
