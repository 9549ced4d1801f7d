//! Asking for approval, deciding, and a rejection that reopens the cart.

use cartroom_protocol::checkout::{CartPhase, SplitPlan};
use cartroom_protocol::{ErrorCode, Op};

use super::*;

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
fn an_admin_names_a_member_the_approver_and_clears_it() {
    let (ana, ben, stranger) = (actor("Ana"), actor("Ben"), actor("Zed"));
    let mut cart = Cart::new(&[&ana, &ben]);
    assert_eq!(
        cart.refused(
            &ana,
            Op::SetApprover {
                user_id: Some(stranger.user_id)
            }
        )
        .code,
        ErrorCode::UserNotFound
    );
    let named = cart.ok(
        &ana,
        Op::SetApprover {
            user_id: Some(ben.user_id),
        },
    );
    assert_eq!(named.summary, "named Ben the approver of the order");
    let view = cart.view().checkout.unwrap();
    assert_eq!(view.approver, Some(ben.user_id.to_string()));
    assert_eq!(view.approver_name.as_deref(), Some("Ben"));
    let mirror = CartMirror::load(&cart.doc).unwrap();
    assert!(mirror.is_named_approver(ben.user_id));
    assert!(!mirror.is_named_approver(ana.user_id));

    // The approver's decision is theirs, in the approval map.
    cart.ok(&ben, add("A", 1));
    cart.ok(&ana, Op::Lock);
    cart.ok(&ana, Op::RequestApproval);
    cart.ok(
        &ben,
        Op::Approve {
            comment: Some("ok".into()),
        },
    );
    let approval = cart.view().checkout.unwrap().approval.unwrap();
    assert_eq!(
        (approval.by_name.as_str(), approval.status.as_str()),
        ("Ben", "approved")
    );

    cart.ok(&ana, Op::Unlock);
    let cleared = cart.ok(&ana, Op::SetApprover { user_id: None });
    assert_eq!(
        cleared.summary,
        "cleared the named approver; admins approve"
    );
    let view = cart.view().checkout.unwrap();
    assert_eq!((view.approver, view.approver_name), (None, None));
    assert!(
        !CartMirror::load(&cart.doc)
            .unwrap()
            .is_named_approver(ben.user_id)
    );
}
