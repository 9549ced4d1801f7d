//! The edit tap (the support desk's tips) hears an edit only once it is
//! durable, before its ack, with the quantities it changed, and in commit
//! order; edits that change no quantity are not told.

use cartroom_protocol::{LineId, Op};

use super::harness::{Harness, Party, add};
use crate::cart::LineChange;

fn change(sku: &str, name: &str, delta: i64) -> LineChange {
    LineChange {
        sku: sku.into(),
        name: name.into(),
        delta,
    }
}

#[tokio::test]
async fn the_tap_hears_committed_quantity_changes_in_order() {
    let h = Harness::new().await;
    let Party { cart, mut ana, .. } = h.party().await;
    h.store.hold_commits();
    h.op(cart, &ana, "a1", add("MUG-BLUE", 2)).await;
    h.op(
        cart,
        &ana,
        "a2",
        Op::ChangeQuantity {
            line_id: LineId("MUG-BLUE".into()),
            delta: -1,
        },
    )
    .await;
    h.op(
        cart,
        &ana,
        "a3",
        Op::SetLineNote {
            line_id: LineId("MUG-BLUE".into()),
            note: "gift".into(),
        },
    )
    .await;
    h.settle(cart).await;
    assert!(
        h.edits.edits().is_empty(),
        "nothing is told before its commit"
    );

    h.store.release_commits(1);
    ana.answer_to("a1").await;
    let edits = h.edits.edits();
    assert_eq!(edits.len(), 1, "told by the time of its ack");
    assert_eq!(edits[0].line_changes, [change("MUG-BLUE", "Blue Mug", 2)]);
    assert_eq!(
        (edits[0].cart_id, edits[0].user_id, edits[0].subtotal),
        (cart, ana.actor().user_id, 2400)
    );
    assert_eq!(
        (edits[0].store_id.as_str(), edits[0].currency.as_str()),
        ("demo", "USD")
    );

    h.store.release_commits(2);
    ana.answer_to("a3").await;
    let edits = h.edits.edits();
    assert_eq!(edits.len(), 2, "a note changes no quantity");
    assert_eq!(edits[1].line_changes, [change("MUG-BLUE", "Blue Mug", -1)]);
    assert_eq!(edits[1].subtotal, 1200);
}
