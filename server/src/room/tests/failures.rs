//! A commit that fails: the op is refused, everyone is told, the room
//! unloads, and the change never shows, neither to those in the room nor to
//! those queued behind it, nor after a reload.

use automerge::Automerge;
use cartroom_protocol::{ErrorCode, MemberRole, OpId, ServerMsg, StreamKind};
use tokio::sync::oneshot;

use super::harness::{Harness, Party, Received, actor, add, answer, quantity, view_of};
use crate::room::{OpOrigin, RoomCmd};

#[tokio::test]
async fn a_failed_commit_refuses_the_op_and_unloads_the_room() {
    let h = Harness::new().await;
    let Party {
        cart,
        mut ana,
        mut bob,
    } = h.party().await;
    h.store.fail_commits(true);

    h.op(cart, &ana, "doomed", add("MUG-BLUE", 1)).await;
    let (code, op_id) = ana.expect_error().await;
    assert_eq!(code, ErrorCode::Unavailable);
    assert_eq!(op_id, Some(OpId("doomed".into())));
    assert_eq!(ana.expect_unsubscribed().await, "unavailable");
    assert_eq!(bob.expect_unsubscribed().await, "unavailable");
    h.rooms_stopped().await;
    assert_eq!(h.rooms.loaded(), 0);
    ana.assert_silent();
    bob.assert_silent();

    // Recovered: a fresh room starts from what is durable, without the change.
    h.store.fail_commits(false);
    let joined = h.join(cart, &mut ana, MemberRole::Admin).await;
    assert!(view_of(&joined.doc).lines.is_empty());
    // The op id was never committed, so its retry is applied, not answered.
    h.op(cart, &ana, "doomed", add("MUG-BLUE", 1)).await;
    assert_eq!(ana.expect_change().await.op_id, "doomed");
    assert!(!ana.expect_ack("doomed").await.1, "a fresh op, not a retry");
    let view = answer(h.view(cart).await).await.expect("a view");
    assert_eq!(quantity(&view, "MUG-BLUE"), Some(1));
    assert_eq!(h.durable_op_ids(cart).await, ["doomed"]);
}

/// Holds Ana's op "doomed", sends `behind` after it, then fails the commit
/// and waits until the room has stopped.
async fn fail_behind(h: &Harness, party: &mut Party, behind: RoomCmd) {
    h.store.hold_commits();
    h.op(party.cart, &party.ana, "doomed", add("MUG-BLUE", 1))
        .await;
    h.send(party.cart, behind).await;
    h.settle(party.cart).await;
    h.store.fail_commits(true);
    h.store.release_all_commits();
    let (code, _) = party.ana.expect_error().await;
    assert_eq!(code, ErrorCode::Unavailable);
    h.rooms_stopped().await;
}

fn shows_the_doomed_line(frame: &Received) -> bool {
    match frame {
        Received::Automerge { bytes, .. } => {
            Automerge::load(bytes).is_ok_and(|doc| quantity(&view_of(&doc), "MUG-BLUE").is_some())
        }
        Received::Msg(_) => false,
    }
}

/// Whether these frames leave their client subscribed: a `subscribed` with
/// no `unsubscribed` after it.
fn left_subscribed(frames: &[Received]) -> bool {
    frames.iter().fold(false, |subscribed, frame| match frame {
        Received::Msg(ServerMsg::Subscribed { .. }) => true,
        Received::Msg(ServerMsg::Unsubscribed { .. }) => false,
        _ => subscribed,
    })
}

#[tokio::test]
async fn a_subscription_queued_behind_a_failed_commit_never_sees_the_change() {
    let h = Harness::new().await;
    let mut party = h.party().await;
    let mut carol = h.client("Carol");
    let subscribe = RoomCmd::Subscribe {
        conn: carol.handle(),
        role: MemberRole::Viewer,
        staff: false,
        heads: None,
        stream: StreamKind::Changes,
    };
    fail_behind(&h, &mut party, subscribe).await;
    let frames = carol.drain();
    assert!(
        !frames.iter().any(shows_the_doomed_line),
        "Carol was shown a change that was refused and never committed: {frames:?}"
    );
    assert!(
        !left_subscribed(&frames),
        "Carol is left subscribed to a room that is gone: {frames:?}"
    );
}

#[tokio::test]
async fn a_read_queued_behind_a_failed_commit_never_shows_the_change() {
    let h = Harness::new().await;
    let mut party = h.party().await;
    let (reply, view) = oneshot::channel();
    fail_behind(&h, &mut party, RoomCmd::View { reply }).await;
    // Dropping the reply (unavailable) is a fine answer; showing the change is not.
    if let Some(view) = answer(view).await {
        assert_eq!(
            quantity(&view, "MUG-BLUE"),
            None,
            "a read showed a change that was refused and never committed"
        );
    }
}

#[tokio::test]
async fn a_retry_queued_behind_a_failed_commit_is_not_acked() {
    let h = Harness::new().await;
    let mut party = h.party().await;
    let retry = RoomCmd::Op {
        origin: OpOrigin::Subscriber(party.ana.handle()),
        op_id: OpId("doomed".into()),
        op: Box::new(add("MUG-BLUE", 1)),
    };
    fail_behind(&h, &mut party, retry).await;
    let frames = party.ana.drain();
    let acked = frames
        .iter()
        .any(|f| matches!(f, Received::Msg(ServerMsg::Ack { .. })));
    assert!(
        !acked,
        "the retry of an op whose commit failed was acked: {frames:?}"
    );
}

#[tokio::test]
async fn an_op_acked_after_a_failed_commit_survives_a_reload() {
    let h = Harness::new().await;
    let ana = actor("Ana");
    let cart = h.create_cart(&ana).await;
    h.store.hold_commits();
    let first = h.direct_op(cart, &ana, "first", add("MUG-BLUE", 1)).await;
    let second = h.direct_op(cart, &ana, "second", add("TEA-GREEN", 1)).await;
    h.settle(cart).await;

    // The first write fails; the store recovers before the second is written.
    h.store.fail_commits(true);
    h.store.release_commits(1);
    let refused = answer(first).await.expect("an answer").unwrap_err();
    assert_eq!(refused.code, ErrorCode::Unavailable);
    h.store.fail_commits(false);
    h.store.release_all_commits();
    let second = answer(second).await;
    h.rooms_stopped().await;

    if let Some(Ok(ack)) = second {
        let durable = view_of(&h.durable_doc(cart).await);
        assert_eq!(
            quantity(&durable, "TEA-GREEN"),
            Some(1),
            "{ack:?} was acked, yet a reload does not show it (its change depends on the failed one)"
        );
    }
}
