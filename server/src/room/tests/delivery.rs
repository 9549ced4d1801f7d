//! Nothing is shown before it is durable, and everyone sees changes in the
//! order they were committed.

use cartroom_protocol::MemberRole;

use super::harness::{Harness, Party, add, quantity, view_of};
use crate::clock::Clock;

#[tokio::test]
async fn nothing_is_delivered_before_its_commit() {
    let h = Harness::new().await;
    let Party {
        cart,
        mut ana,
        mut bob,
    } = h.party().await;
    h.store.hold_commits();
    h.clock.advance_ms(1_500);

    h.op(cart, &ana, "a1", add("MUG-BLUE", 2)).await;
    h.settle(cart).await;
    assert_eq!(h.store.queued_commits(), 1, "the change waits at the gate");
    ana.assert_silent();
    bob.assert_silent();

    h.store.release_commits(1);
    let change = ana.expect_change().await;
    assert_eq!(change.op_id, "a1");
    let (heads, duplicate) = ana.expect_ack("a1").await;
    assert_eq!(
        heads,
        change.as_heads(),
        "the ack reports the change's heads"
    );
    assert!(!duplicate);
    let activity = ana.expect_activity().await;
    assert_eq!(activity.kind, "add_line");
    assert_eq!(
        activity.at,
        h.clock.now_ms(),
        "the room's clock times the op"
    );
    assert_eq!(bob.expect_change().await, change);
    assert_eq!(bob.expect_activity().await, activity);
}

#[tokio::test]
async fn every_subscriber_sees_changes_in_commit_order() {
    let h = Harness::new().await;
    let Party {
        cart,
        mut ana,
        mut bob,
    } = h.party().await;
    h.store.hold_commits();
    // Interleaved from two subscribers; true = sent by Ana.
    let ops = [
        (true, "a1", "MUG-BLUE"),
        (false, "b1", "TEA-GREEN"),
        (true, "a2", "MUG-RED"),
        (false, "b2", "TEA-BLACK"),
    ];
    for (by_ana, op_id, sku) in ops {
        let sender = if by_ana { &ana } else { &bob };
        h.op(cart, sender, op_id, add(sku, 1)).await;
    }
    h.settle(cart).await;
    assert_eq!(h.store.queued_commits(), ops.len());

    let (mut seen_by_ana, mut seen_by_bob) = (Vec::new(), Vec::new());
    for (by_ana, op_id, _) in ops {
        ana.assert_silent();
        bob.assert_silent();
        h.store.release_commits(1);
        for (client, sent, seen) in [
            (&mut ana, by_ana, &mut seen_by_ana),
            (&mut bob, !by_ana, &mut seen_by_bob),
        ] {
            let change = client.expect_change().await;
            assert_eq!(change.op_id, op_id, "changes arrive as they are committed");
            if sent {
                client.expect_ack(op_id).await;
            }
            client.expect_activity().await;
            seen.push(change.op_id);
        }
        // The later commits are still held: nothing of theirs may show.
        h.settle(cart).await;
    }
    let committed = h.durable_op_ids(cart).await;
    assert_eq!(committed, ["a1", "b1", "a2", "b2"]);
    assert_eq!(seen_by_ana, committed);
    assert_eq!(seen_by_bob, committed);
}

#[tokio::test]
async fn a_subscription_waits_for_earlier_commits_and_gets_their_changes_once() {
    let h = Harness::new().await;
    let Party {
        cart,
        mut ana,
        mut bob,
    } = h.party().await;
    h.store.hold_commits();
    h.op(cart, &ana, "a1", add("MUG-BLUE", 3)).await;
    let mut carol = h.client("Carol");
    h.subscribe(cart, &carol, MemberRole::Viewer).await;
    h.settle(cart).await;
    carol.assert_silent();

    h.store.release_commits(1);
    let change = ana.expect_change().await;
    let (acked_heads, _) = ana.expect_ack("a1").await;
    let joined = carol.expect_subscribed().await;
    assert_eq!(joined.heads, acked_heads);
    assert_eq!(quantity(&view_of(&joined.doc), "MUG-BLUE"), Some(3));
    let carol_actor = carol.actor().clone();
    carol.expect_presence(&carol_actor, 1).await;
    // The op's change is in her document; it must not come again as a change.
    h.settle(cart).await;
    carol.assert_silent();
    assert_eq!(bob.expect_change().await, change);
}
