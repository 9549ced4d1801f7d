//! Idle unload against late subscribers: a subscribe that meets a room as
//! it unloads is handled by it or handed to a fresh room, never lost.
//!
//! With paused time, subscribes arrive just before, at and just after the
//! idle deadline; with an idle time of zero, every subscribe races an
//! unload on two threads, and which side wins varies from round to round.
//! The outcome may not.

use std::time::Duration;

use cartroom_protocol::MemberRole;

use super::harness::{Harness, actor, add, answer, quantity, small_limits, view_of};
use crate::room::RoomLimits;

async fn unloading_at_once() -> Harness {
    let limits = RoomLimits {
        idle: Duration::ZERO,
        ..small_limits()
    };
    Harness::with_limits(limits).await
}

#[tokio::test]
async fn a_subscriber_after_an_idle_unload_gets_a_fresh_room() {
    let h = unloading_at_once().await;
    let ana = actor("Ana");
    let cart = h.create_cart(&ana).await;
    let ack = h.direct_op(cart, &ana, "a1", add("MUG-BLUE", 1)).await;
    answer(ack).await.expect("an answer").expect("an ack");
    h.rooms_stopped().await;
    assert_eq!(h.rooms.loaded(), 0);

    let mut carol = h.client("Carol");
    let joined = h.join(cart, &mut carol, MemberRole::Viewer).await;
    assert_eq!(quantity(&view_of(&joined.doc), "MUG-BLUE"), Some(1));
    assert_eq!(h.rooms.loaded(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_racing_the_idle_unload_is_never_lost() {
    const ROUNDS: i64 = 200;
    let h = unloading_at_once().await;
    let ana = actor("Ana");
    let cart = h.create_cart(&ana).await;
    for round in 0..ROUNDS {
        // A read loads the room and leaves it idle: its unload is due now.
        answer(h.view(cart).await).await.expect("a view");
        let mut carol = h.client("Carol");
        let joined = h.join(cart, &mut carol, MemberRole::Viewer).await;
        let mugs = quantity(&view_of(&joined.doc), "MUG-BLUE");
        assert_eq!(mugs, (round > 0).then_some(round), "round {round}");

        let op_id = format!("round-{round}");
        let ack = h.direct_op(cart, &ana, &op_id, add("MUG-BLUE", 1)).await;
        answer(ack).await.expect("an answer").expect("an ack");
        assert_eq!(carol.expect_change().await.op_id, op_id);
        h.unsubscribe(cart, &carol).await;
    }
}

/// When a subscribe arrives, relative to the idle deadline.
#[derive(Clone, Copy, Debug)]
enum Arrival {
    Early,
    OnTime,
    Late,
    /// Sent just before the deadline and still queued when it passes.
    QueuedAtDeadline,
}

#[tokio::test(start_paused = true)]
async fn a_subscriber_at_the_idle_deadline_is_never_lost() {
    const IDLE: Duration = Duration::from_secs(30);
    const MS: Duration = Duration::from_millis(1);
    let arrivals = [
        Arrival::Early,
        Arrival::OnTime,
        Arrival::Late,
        Arrival::QueuedAtDeadline,
    ];
    for arrival in arrivals.into_iter().cycle().take(arrivals.len() * 20) {
        let h = Harness::with_limits(RoomLimits {
            idle: IDLE,
            ..small_limits()
        })
        .await;
        let ana = actor("Ana");
        let cart = h.create_cart(&ana).await;
        // A read loads the room and leaves it idle from now on.
        answer(h.view(cart).await).await.expect("a view");
        let mut carol = h.client("Carol");
        let sent_at = match arrival {
            Arrival::Early | Arrival::QueuedAtDeadline => IDLE - MS,
            Arrival::OnTime => IDLE,
            Arrival::Late => IDLE + MS,
        };
        tokio::time::advance(sent_at).await;
        h.subscribe(cart, &carol, MemberRole::Viewer).await;
        if let Arrival::QueuedAtDeadline = arrival {
            tokio::time::advance(MS).await;
        }
        let joined = carol.expect_subscribed().await;
        assert!(view_of(&joined.doc).lines.is_empty(), "{arrival:?}");
        let me = carol.actor().clone();
        carol.expect_presence(&me, 1).await;
        let ack = h.direct_op(cart, &ana, "late", add("MUG-BLUE", 1)).await;
        answer(ack).await.expect("an answer").expect("an ack");
        assert_eq!(carol.expect_change().await.op_id, "late", "{arrival:?}");
    }
}
