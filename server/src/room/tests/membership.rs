//! Who is in the room: a subscriber that cannot keep up is dropped and
//! announced gone, and commands about a subscription take effect, and are
//! answered, in the order they were sent, even while it waits for a commit.

use cartroom_protocol::{ErrorCode, MemberRole, OpId};

use super::harness::{Harness, OpAnswer, Party, add};
use crate::cart::Actor;
use crate::room::RoomCmd;

#[tokio::test]
async fn a_subscriber_that_refuses_a_delivery_is_dropped_from_presence() {
    let h = Harness::new().await;
    let Party {
        cart,
        mut ana,
        mut bob,
    } = h.party().await;
    let bob_actor = bob.actor().clone();
    bob.refuse_deliveries(true);

    h.op(cart, &ana, "a1", add("MUG-BLUE", 1)).await;
    ana.expect_change().await;
    ana.expect_presence(&bob_actor, 0).await;
    ana.expect_ack("a1").await;
    ana.expect_activity().await;

    // Bob could take frames again, but the room has forgotten him.
    bob.refuse_deliveries(false);
    h.op(cart, &ana, "a2", add("MUG-BLUE", 1)).await;
    ana.expect_change().await;
    h.op(cart, &bob, "b1", add("TEA-GREEN", 1)).await;
    assert_eq!(
        bob.expect_error().await,
        (ErrorCode::NotSubscribed, Some(OpId("b1".into())))
    );
    bob.assert_silent();
    let mut carol = h.client("Carol");
    let joined = h.join(cart, &mut carol, MemberRole::Viewer).await;
    let present: Vec<_> = joined.presence.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(present, ["Ana", "Carol"]);
}

#[tokio::test]
async fn an_unsubscribe_sent_while_the_subscription_waits_ends_it_once_it_is_answered() {
    let h = Harness::new().await;
    let Party { cart, ana, .. } = h.party().await;
    h.store.hold_commits();
    h.op(cart, &ana, "a1", add("MUG-BLUE", 1)).await;
    let mut carol = h.client("Carol");
    h.subscribe(cart, &carol, MemberRole::Editor).await;
    h.unsubscribe(cart, &carol).await;
    h.settle(cart).await;
    h.store.release_all_commits();

    // Answered in the order asked: `subscribed` first.
    carol.expect_subscribed().await;
    let me = carol.actor().clone();
    carol.expect_presence(&me, 1).await;
    assert_eq!(carol.expect_unsubscribed().await, "requested");
    // Carol left: a later change must not reach her.
    h.op(cart, &ana, "a2", add("TEA-GREEN", 1)).await;
    h.flush(cart).await;
    assert!(
        !carol.drain_changes().contains(&"a2".to_owned()),
        "Carol unsubscribed before her subscription completed, yet is still in the room"
    );
}

#[tokio::test]
async fn an_unsubscribe_right_behind_an_op_comes_after_its_change_and_ack() {
    let h = Harness::new().await;
    // Bob stays connected: a dropped subscriber is announced gone.
    let Party {
        cart,
        mut ana,
        bob: _bob,
    } = h.party().await;
    h.store.hold_commits();
    h.op(cart, &ana, "a1", add("MUG-BLUE", 1)).await;
    h.unsubscribe(cart, &ana).await;
    h.settle(cart).await;
    h.store.release_all_commits();

    assert_eq!(ana.expect_change().await.op_id, "a1");
    ana.expect_ack("a1").await;
    ana.expect_activity().await;
    assert_eq!(ana.expect_unsubscribed().await, "requested");
}

#[tokio::test]
async fn subscribe_unsubscribe_subscribe_in_a_row_answers_each_in_turn() {
    let h = Harness::new().await;
    let Party { cart, ana, .. } = h.party().await;
    h.store.hold_commits();
    h.op(cart, &ana, "a1", add("MUG-BLUE", 1)).await;
    let mut carol = h.client("Carol");
    h.subscribe(cart, &carol, MemberRole::Editor).await;
    h.unsubscribe(cart, &carol).await;
    h.subscribe(cart, &carol, MemberRole::Editor).await;
    h.settle(cart).await;
    h.store.release_all_commits();

    // The first join was taken over by the second before it was let in;
    // the unsubscribe between them is still answered, and the second
    // subscription lives on.
    assert_eq!(carol.expect_unsubscribed().await, "requested");
    carol.expect_subscribed().await;
    let me = carol.actor().clone();
    carol.expect_presence(&me, 1).await;
    h.op(cart, &ana, "a2", add("TEA-GREEN", 1)).await;
    h.flush(cart).await;
    assert_eq!(carol.drain_changes(), ["a2"]);
}

#[tokio::test]
async fn a_member_removed_while_subscribing_is_not_let_in() {
    let h = Harness::new().await;
    let Party { cart, ana, .. } = h.party().await;
    h.store.hold_commits();
    h.op(cart, &ana, "a1", add("MUG-BLUE", 1)).await;
    let mut carol = h.client("Carol");
    h.subscribe(cart, &carol, MemberRole::Editor).await;
    let removed = RoomCmd::MemberChanged {
        user_id: carol.actor().user_id,
        member_name: "Carol".into(),
        role: None,
        added: false,
        by: ana.actor().clone(),
    };
    h.send(cart, removed).await;
    h.settle(cart).await;
    h.store.release_all_commits();
    h.flush(cart).await;

    // Whatever Carol was told, she may no longer edit the cart.
    h.op(cart, &carol, "c1", add("TEA-GREEN", 1)).await;
    let answer = carol.answer_to("c1").await;
    assert!(
        matches!(answer, OpAnswer::Refused(_)),
        "Carol was removed before her subscription completed, yet her op got {answer:?}"
    );
}

fn role_change(who: &Actor, by: &Actor, role: Option<MemberRole>) -> RoomCmd {
    RoomCmd::MemberChanged {
        user_id: who.user_id,
        member_name: who.name.clone(),
        role,
        added: false,
        by: by.clone(),
    }
}

/// A role read from the store before a change, carried by a `subscribe`
/// that reaches the room after the change, must not win.
#[tokio::test]
async fn a_subscribe_carrying_a_role_older_than_a_change_gets_the_new_role() {
    let h = Harness::new().await;
    let Party { cart, ana, .. } = h.party().await;
    let mut carol = h.client("Carol");
    h.send(
        cart,
        role_change(carol.actor(), ana.actor(), Some(MemberRole::Viewer)),
    )
    .await;
    h.subscribe(cart, &carol, MemberRole::Editor).await;
    let joined = carol.expect_subscribed().await;
    assert_eq!(joined.role, MemberRole::Viewer);
    let me = carol.actor().clone();
    carol.expect_presence(&me, 1).await;
    h.op(cart, &carol, "c1", add("TEA-GREEN", 1)).await;
    assert_eq!(
        carol.expect_error().await,
        (ErrorCode::Forbidden, Some(OpId("c1".into())))
    );
}

#[tokio::test]
async fn a_subscribe_after_a_removal_is_refused() {
    let h = Harness::new().await;
    let Party { cart, ana, .. } = h.party().await;
    let mut carol = h.client("Carol");
    h.send(cart, role_change(carol.actor(), ana.actor(), None))
        .await;
    h.subscribe(cart, &carol, MemberRole::Editor).await;
    assert_eq!(carol.expect_error().await, (ErrorCode::CartNotFound, None));
    h.op(cart, &carol, "c1", add("TEA-GREEN", 1)).await;
    assert_eq!(
        carol.expect_error().await,
        (ErrorCode::NotSubscribed, Some(OpId("c1".into())))
    );
}
