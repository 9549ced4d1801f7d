//! The named approver in the room: they approve whatever their role, no
//! other editor does, and once removed from the cart they no longer can:
//! the room clears the name, so added back they are not the approver.

use cartroom_protocol::http::OpAck;
use cartroom_protocol::{CartId, ErrorCode, MemberRole, Op};

use super::harness::{Harness, actor, add, answer};
use crate::cart::Actor;
use crate::refusal::Refusal;
use crate::room::RoomCmd;

async fn op(
    h: &Harness,
    cart: CartId,
    who: &Actor,
    role: MemberRole,
    op_id: &str,
    op: Op,
) -> Result<OpAck, Refusal> {
    let rx = h.direct_op_as(cart, who, role, op_id, op).await;
    answer(rx).await.expect("the room answers")
}

fn member(who: &Actor, by: &Actor, role: Option<MemberRole>) -> RoomCmd {
    RoomCmd::MemberChanged {
        user_id: who.user_id,
        member_name: who.name.clone(),
        role,
        added: role.is_some(),
        by: by.clone(),
    }
}

#[tokio::test]
async fn the_named_approver_decides_until_removed() {
    use MemberRole::{Admin, Editor};
    let h = Harness::new().await;
    let (ana, ben, cleo) = (actor("Ana"), actor("Ben"), actor("Cleo"));
    let cart = h.create_cart(&ana).await;
    h.send(cart, member(&ben, &ana, Some(Editor))).await;
    h.send(cart, member(&cleo, &ana, Some(Editor))).await;
    op(&h, cart, &ben, Editor, "b1", add("MUG-BLUE", 1))
        .await
        .unwrap();
    let name_ben = Op::SetApprover {
        user_id: Some(ben.user_id),
    };
    let refused = op(&h, cart, &ben, Editor, "b2", name_ben.clone())
        .await
        .unwrap_err();
    assert_eq!(
        refused.code,
        ErrorCode::Forbidden,
        "only an admin names one"
    );
    op(&h, cart, &ana, Admin, "a1", name_ben).await.unwrap();
    op(&h, cart, &ana, Admin, "a2", Op::Lock).await.unwrap();
    op(&h, cart, &ana, Admin, "a3", Op::RequestApproval)
        .await
        .unwrap();

    let approve = Op::Approve { comment: None };
    let refused = op(&h, cart, &cleo, Editor, "c1", approve.clone())
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden, "another editor");
    op(&h, cart, &ben, Editor, "b3", approve.clone())
        .await
        .unwrap();

    // Asked again, then Ben is removed: admins approve, Ben cannot.
    op(&h, cart, &ana, Admin, "a4", Op::Unlock).await.unwrap();
    op(&h, cart, &ana, Admin, "a5", Op::Lock).await.unwrap();
    op(&h, cart, &ana, Admin, "a6", Op::RequestApproval)
        .await
        .unwrap();
    h.send(cart, member(&ben, &ana, None)).await;
    let refused = op(&h, cart, &ben, Editor, "b4", approve.clone())
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden, "a removed approver");
    op(&h, cart, &ana, Admin, "a7", approve.clone())
        .await
        .unwrap();
    // The document no longer names him: added back, he is not the approver.
    let view = answer(h.view(cart).await).await.expect("a view");
    let checkout = view.checkout.unwrap();
    assert_eq!((checkout.approver, checkout.approver_name), (None, None));
    h.send(cart, member(&ben, &ana, Some(Editor))).await;
    op(&h, cart, &ana, Admin, "a8", Op::Unlock).await.unwrap();
    op(&h, cart, &ana, Admin, "a9", Op::Lock).await.unwrap();
    op(&h, cart, &ana, Admin, "a10", Op::RequestApproval)
        .await
        .unwrap();
    let refused = op(&h, cart, &ben, Editor, "b5", approve).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden, "added back, not named");
}
