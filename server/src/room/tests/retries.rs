//! An op id is applied once: a retry is answered with `duplicate: true`,
//! whether the first commit is still in flight, done, or from before a
//! reload, and whether or not the op changed anything.

use cartroom_protocol::{LineId, MemberRole, Op};

use super::harness::{Harness, OpAnswer, Party, add, answer, quantity};

#[tokio::test]
async fn a_retried_op_id_is_applied_once() {
    let mut h = Harness::new().await;
    let Party {
        cart,
        mut ana,
        mut bob,
    } = h.party().await;
    h.store.hold_commits();

    // The retry comes while the first commit is still held.
    h.op(cart, &ana, "once", add("MUG-BLUE", 1)).await;
    h.op(cart, &ana, "once", add("MUG-BLUE", 1)).await;
    h.settle(cart).await;
    assert_eq!(h.store.queued_commits(), 1, "the retry queued no change");
    ana.assert_silent();

    h.store.release_all_commits();
    assert_eq!(ana.expect_change().await.op_id, "once");
    let (heads, duplicate) = ana.expect_ack("once").await;
    assert!(!duplicate);
    ana.expect_activity().await;
    assert_eq!(ana.expect_ack("once").await, (heads.clone(), true));
    assert_eq!(bob.expect_change().await.op_id, "once");
    bob.expect_activity().await;

    // A retry once the commit is done: answered, no change.
    h.op(cart, &ana, "once", add("MUG-BLUE", 1)).await;
    assert_eq!(ana.expect_ack("once").await, (heads, true));
    h.settle(cart).await;
    bob.assert_silent();

    // A retry after a reload is answered from the store's memory of op ids.
    h.restart().await;
    let retry = h.direct_op(cart, ana.actor(), "once", add("MUG-BLUE", 1));
    let ack = answer(retry.await)
        .await
        .expect("an answer")
        .expect("an ack");
    assert!(ack.duplicate);
    let view = answer(h.view(cart).await).await.expect("a view");
    assert_eq!(quantity(&view, "MUG-BLUE"), Some(1));
    assert_eq!(h.durable_op_ids(cart).await, ["once"]);
}

#[tokio::test]
async fn the_same_op_id_from_another_user_is_another_op() {
    let h = Harness::new().await;
    let Party {
        cart,
        mut ana,
        mut bob,
    } = h.party().await;
    h.op(cart, &ana, "x", add("MUG-BLUE", 1)).await;
    assert_eq!(ana.expect_change().await.op_id, "x");
    assert!(!ana.expect_ack("x").await.1);
    h.op(cart, &bob, "x", add("MUG-BLUE", 1)).await;
    assert_eq!(bob.expect_change().await.op_id, "x"); // Ana's
    bob.expect_activity().await;
    assert_eq!(bob.expect_change().await.op_id, "x"); // his own
    assert!(!bob.expect_ack("x").await.1);
    let view = answer(h.view(cart).await).await.expect("a view");
    assert_eq!(quantity(&view, "MUG-BLUE"), Some(2));
}

#[tokio::test]
async fn a_retry_from_a_new_connection_of_the_same_user_is_answered() {
    let h = Harness::new().await;
    let Party {
        cart,
        mut ana,
        mut bob,
    } = h.party().await;
    h.op(cart, &ana, "r1", add("MUG-BLUE", 1)).await;
    ana.expect_change().await;
    let (heads, _) = ana.expect_ack("r1").await;

    // Ana lost the ack with her connection; she comes back and retries.
    let mut again = h.connect(ana.actor());
    h.join(cart, &mut again, MemberRole::Admin).await;
    h.op(cart, &again, "r1", add("MUG-BLUE", 1)).await;
    assert_eq!(again.expect_ack("r1").await, (heads, true));
    h.flush(cart).await;
    assert_eq!(bob.drain_changes(), ["r1"], "one change, not two");
}

#[tokio::test]
async fn a_retry_of_an_op_that_changed_nothing_changes_nothing_later() {
    let h = Harness::new().await;
    let Party {
        cart,
        mut ana,
        mut bob,
    } = h.party().await;
    h.op(cart, &ana, "a1", add("MUG-BLUE", 1)).await;
    ana.expect_change().await;
    ana.expect_ack("a1").await;
    ana.expect_activity().await;
    bob.expect_change().await;
    bob.expect_activity().await;

    // Setting the quantity it has changes nothing, and is acked.
    let set_one = |quantity| Op::SetQuantity {
        line_id: LineId("MUG-BLUE".into()),
        quantity,
    };
    h.op(cart, &ana, "same", set_one(1)).await;
    assert!(!ana.expect_ack("same").await.1);
    // Bob changes it; Ana, who lost her ack, retries.
    h.op(cart, &bob, "b1", set_one(2)).await;
    bob.expect_change().await;
    bob.expect_ack("b1").await;
    h.op(cart, &ana, "same", set_one(1)).await;
    assert_eq!(
        ana.answer_to("same").await,
        OpAnswer::Ack { duplicate: true }
    );
    let view = answer(h.view(cart).await).await.expect("a view");
    assert_eq!(quantity(&view, "MUG-BLUE"), Some(2), "Bob's edit stands");
}
