//! Reads (the JSON view, Automerge bytes) are answered after the commits
//! queued before them, and show what those commits made.

use automerge::Automerge;
use cartroom_protocol::ServerMsg;

use super::harness::{Harness, Party, Received, add, answer, quantity, view_of};
use crate::room::BytesKind;

#[tokio::test]
async fn a_read_after_a_held_op_waits_for_its_commit_and_shows_it() {
    let h = Harness::new().await;
    let Party { cart, mut ana, .. } = h.party().await;
    h.store.hold_commits();
    h.op(cart, &ana, "a1", add("TEA-GREEN", 4)).await;
    let mut view_answer = h.view(cart).await;
    let mut document_answer = h.bytes(cart, BytesKind::Document).await;
    let mut changes_answer = h.bytes(cart, BytesKind::Changes).await;
    h.settle(cart).await;
    assert!(
        view_answer.try_recv().is_err(),
        "the view was answered before the commit"
    );
    assert!(
        document_answer.try_recv().is_err(),
        "the document was sent before the commit"
    );
    assert!(
        changes_answer.try_recv().is_err(),
        "the changes were sent before the commit"
    );

    h.store.release_commits(1);
    let view = answer(view_answer).await.expect("a view");
    assert_eq!(quantity(&view, "TEA-GREEN"), Some(4));
    // The op's ack went out before the read was answered.
    let acked = ana.drain().into_iter().find_map(|frame| match frame {
        Received::Msg(ServerMsg::Ack { op_id, heads, .. }) => Some((op_id.0, heads)),
        _ => None,
    });
    assert_eq!(acked, Some(("a1".into(), view.heads.clone())));

    let document = answer(document_answer).await.expect("the document");
    let doc = Automerge::load(&document).expect("a saved document");
    assert_eq!(view_of(&doc), view);
    let changes = answer(changes_answer).await.expect("the changes");
    let mut replayed = Automerge::new();
    replayed
        .load_incremental(&changes)
        .expect("concatenated changes");
    assert_eq!(view_of(&replayed), view);
}
