//! Each subscription gets changes as its stream asks: `changes` a kind-2
//! frame and an `activity` message, `compact` one kind-3 frame with both,
//! `view` a patch of its view; an epoch change reaches the replicas only.

use cartroom_protocol::frame::Record;
use cartroom_protocol::{ActivityEvent, FrameKind, MemberRole, ServerMsg, StreamKind, SyncPayload};

use super::harness::{Client, Harness, Party, Received, SeenChange, add, answer, small_limits};
use crate::room::RoomLimits;

/// Subscribes `client` on `stream` and reads its welcome: `subscribed`,
/// the payload and its own presence. Returns the view, on the view stream.
async fn join_on(
    h: &Harness,
    cart: cartroom_protocol::CartId,
    client: &mut Client,
    stream: StreamKind,
) -> Option<serde_json::Value> {
    h.subscribe_to(cart, client, MemberRole::Editor, stream)
        .await;
    let payload = match client.next_msg().await {
        ServerMsg::Subscribed { payload, .. } => payload,
        other => panic!("expected subscribed, got {other:?}"),
    };
    let view = match (stream, client.next().await) {
        (StreamKind::View, Received::Msg(ServerMsg::View { view, heads, .. })) => {
            assert_eq!(payload, SyncPayload::View);
            assert_eq!(view.heads, heads);
            Some(serde_json::to_value(view).unwrap())
        }
        (_, Received::Automerge { kind, .. }) if stream != StreamKind::View => {
            assert_eq!(kind, FrameKind::Document);
            assert_eq!(payload, SyncPayload::Document);
            None
        }
        (_, other) => panic!("expected the payload of {stream:?}, got {other:?}"),
    };
    let me = client.actor().clone();
    client.expect_presence_of(&me).await;
    view
}

/// The next frame, which must be a kind-3 frame; its changes and events.
async fn expect_records(client: &mut Client) -> Vec<(Vec<u8>, ActivityEvent)> {
    match client.next().await {
        Received::Automerge {
            kind: FrameKind::Change,
            bytes,
        } => Record::decode_all(&bytes)
            .unwrap()
            .into_iter()
            .map(|r| (r.change.to_vec(), r.activity_event().unwrap()))
            .collect(),
        other => panic!("expected a kind-3 frame, got {other:?}"),
    }
}

/// The next frame, which must be a `view_patch`: applies it to `view`.
async fn apply_patch(client: &mut Client, view: &mut serde_json::Value) -> ActivityEvent {
    match client.next_msg().await {
        ServerMsg::ViewPatch {
            patch,
            heads,
            activity,
            ..
        } => {
            json_patch::patch(view, &patch).expect("the patch applies to the view");
            assert_eq!(view["heads"], serde_json::to_value(heads).unwrap());
            activity
        }
        other => panic!("expected a view patch, got {other:?}"),
    }
}

/// The room's view now, as JSON.
async fn room_view(h: &Harness, cart: cartroom_protocol::CartId) -> serde_json::Value {
    serde_json::to_value(answer(h.view(cart).await).await.unwrap()).unwrap()
}

#[tokio::test]
async fn a_change_reaches_each_stream_as_it_asks() {
    let h = Harness::new().await;
    let Party {
        cart,
        mut ana,
        mut bob,
    } = h.party().await;
    let mut carol = h.client("Carol");
    join_on(&h, cart, &mut carol, StreamKind::Compact).await;
    let mut dave = h.client("Dave");
    let mut view = join_on(&h, cart, &mut dave, StreamKind::View)
        .await
        .unwrap();
    for who in [&mut ana, &mut bob] {
        who.expect_presence_of(carol.actor()).await;
        who.expect_presence_of(dave.actor()).await;
    }
    carol.expect_presence_of(dave.actor()).await;

    h.op(cart, &ana, "a1", add("MUG-BLUE", 2)).await;
    // Changes: the frame, then the activity (after Ana's ack).
    let change = match bob.next().await {
        Received::Automerge {
            kind: FrameKind::Changes,
            bytes,
        } => bytes,
        other => panic!("expected a change frame, got {other:?}"),
    };
    let activity = bob.expect_activity().await;
    assert_eq!(SeenChange::parse(&change).op_id, "a1");
    // Compact: one frame with the same change and event.
    assert_eq!(
        expect_records(&mut carol).await,
        [(change, activity.clone())]
    );
    // View: a patch that brings the view to the room's.
    assert_eq!(apply_patch(&mut dave, &mut view).await, activity);
    assert_eq!(view, room_view(&h, cart).await);

    // A compact or view subscriber's own op: its change, then its ack.
    h.op(cart, &carol, "c1", add("TEA-GREEN", 1)).await;
    let records = expect_records(&mut carol).await;
    assert_eq!(records.len(), 1);
    assert_eq!(SeenChange::parse(&records[0].0).op_id, "c1");
    carol.expect_ack("c1").await;
    h.op(cart, &dave, "d1", add("MUG-RED", 1)).await;
    apply_patch(&mut dave, &mut view).await; // Carol's
    assert_eq!(
        apply_patch(&mut dave, &mut view).await.user_id,
        dave.actor().user_id
    );
    dave.expect_ack("d1").await;
    assert_eq!(view, room_view(&h, cart).await);
    h.flush(cart).await;
    carol.drain();
    // Nothing but patches and acks went to the view stream.
    dave.assert_silent();
}

#[tokio::test]
async fn a_view_taken_while_commits_are_pending_gets_patches_for_later_changes_only() {
    let h = Harness::new().await;
    let Party {
        cart,
        ana,
        bob: _bob,
    } = h.party().await;
    h.store.hold_commits();
    h.op(cart, &ana, "a1", add("MUG-BLUE", 2)).await;
    let mut dave = h.client("Dave");
    h.subscribe_to(cart, &dave, MemberRole::Viewer, StreamKind::View)
        .await;
    h.op(cart, &ana, "a2", add("TEA-GREEN", 1)).await;
    h.settle(cart).await;
    dave.assert_silent();
    h.store.release_commits(2);

    match dave.next_msg().await {
        ServerMsg::Subscribed { payload, .. } => assert_eq!(payload, SyncPayload::View),
        other => panic!("expected subscribed, got {other:?}"),
    }
    let mut view = match dave.next_msg().await {
        ServerMsg::View { view, .. } => {
            // Taken after a1 was applied: it shows a1, not a2.
            assert_eq!(view.lines.len(), 1);
            serde_json::to_value(view).unwrap()
        }
        other => panic!("expected the view, got {other:?}"),
    };
    let me = dave.actor().clone();
    dave.expect_presence_of(&me).await;
    assert_eq!(apply_patch(&mut dave, &mut view).await.kind, "add_line");
    assert_eq!(view, room_view(&h, cart).await);
    dave.assert_silent();
}

#[tokio::test]
async fn an_epoch_replaces_replicas_and_leaves_views_alone() {
    let h = Harness::with_limits(RoomLimits {
        epoch_every: 2,
        ..small_limits()
    })
    .await;
    let Party {
        cart,
        mut ana,
        mut bob,
    } = h.party().await;
    let mut carol = h.client("Carol");
    join_on(&h, cart, &mut carol, StreamKind::Compact).await;
    let mut dave = h.client("Dave");
    let mut view = join_on(&h, cart, &mut dave, StreamKind::View)
        .await
        .unwrap();
    for who in [&mut ana, &mut bob] {
        who.expect_presence_of(carol.actor()).await;
        who.expect_presence_of(dave.actor()).await;
    }
    carol.expect_presence_of(dave.actor()).await;

    // One at a time, with nothing else queued: the epoch starts right
    // after the second change (a read queued behind it would delay it).
    for (op_id, sku) in [("a1", "MUG-BLUE"), ("a2", "TEA-GREEN"), ("a3", "MUG-RED")] {
        h.op(cart, &ana, op_id, add(sku, 1)).await;
        ana.answer_to(op_id).await;
    }

    // Bob (changes) and Carol (compact): the changes, then `epoch` and
    // the new document, then the change made in the new epoch.
    for (who, compact) in [(&mut bob, false), (&mut carol, true)] {
        let received = who.drain();
        let epoch_at = received
            .iter()
            .position(|r| matches!(r, Received::Msg(ServerMsg::Epoch { .. })))
            .unwrap_or_else(|| panic!("{} got no epoch: {received:?}", who.actor().name));
        let Received::Msg(ServerMsg::Epoch { epoch, heads, .. }) = &received[epoch_at] else {
            unreachable!()
        };
        assert_eq!(*epoch, 1);
        let Some(Received::Automerge {
            kind: FrameKind::Document,
            bytes,
        }) = received.get(epoch_at + 1)
        else {
            panic!("the epoch is not followed by its document: {received:?}");
        };
        let doc = automerge::Automerge::load(bytes).unwrap();
        assert_eq!(crate::cart::view::heads_of(&doc), *heads);
        let change_kind = if compact {
            FrameKind::Change
        } else {
            FrameKind::Changes
        };
        let changes = |part: &[Received]| {
            part.iter()
                .filter(|r| matches!(r, Received::Automerge { kind, .. } if *kind == change_kind))
                .count()
        };
        assert_eq!(changes(&received[..epoch_at]), 2);
        assert_eq!(changes(&received[epoch_at..]), 1);
    }
    // Dave (view): three patches and his view is the room's, heads and all.
    for _ in 0..3 {
        apply_patch(&mut dave, &mut view).await;
    }
    assert_eq!(view, room_view(&h, cart).await);
    dave.assert_silent();
    // A view taken in the new epoch, and one from the old, follow alike.
    let mut erin = h.client("Erin");
    let mut fresh = join_on(&h, cart, &mut erin, StreamKind::View)
        .await
        .unwrap();
    dave.expect_presence_of(erin.actor()).await;
    h.op(cart, &ana, "a4", add("MUG-BLUE", 1)).await;
    apply_patch(&mut dave, &mut view).await;
    apply_patch(&mut erin, &mut fresh).await;
    assert_eq!(fresh, view);
    // a4 started epoch 2 in turn: the views keep a4's heads (no message
    // tells them of an epoch), and the rest is the room's.
    let mut now = room_view(&h, cart).await;
    assert_ne!(now["heads"], view["heads"]);
    now["heads"] = view["heads"].clone();
    assert_eq!(view, now);
}
