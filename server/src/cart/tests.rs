//! The cart model's promises, on documents in memory.

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType};
use cartroom_protocol::http::{Product, StoreInfo};
use cartroom_protocol::limits::MAX_LINES;
use cartroom_protocol::{ErrorCode, LineId, Op, OpId, SuggestionId, UserId};

use super::schema::root_map;
use super::*;
use crate::catalog::{Catalog, Listing};
use crate::refusal::Refusal;

fn catalog() -> Catalog {
    let product = |sku: &str, price, stock| Listing {
        product: Product {
            sku: sku.into(),
            name: format!("Product {sku}"),
            price,
            currency: "USD".into(),
            stock,
            image_url: String::new(),
            group_buy: None,
        },
        color: "#000".into(),
    };
    Catalog::new(
        StoreInfo {
            id: "t".into(),
            name: "Test".into(),
            currency: "USD".into(),
            time_zone: "UTC".into(),
        },
        vec![product("A", 1200, 500), product("B", 250, 3)],
    )
}

fn actor(name: &str) -> Actor {
    Actor {
        user_id: UserId::new_random(),
        name: name.into(),
    }
}

fn apply(doc: &mut Automerge, who: &Actor, op: Op) -> Result<Applied, Refusal> {
    let catalog = catalog();
    let op_id = OpId(format!(
        "op-{}",
        doc.get_heads().len() + doc.get_changes(&[]).len()
    ));
    let mut mirror = CartMirror::load(doc).unwrap();
    let applied = apply_op(
        doc,
        &mut mirror,
        &OpContext {
            actor: who,
            op_id: &op_id,
            catalog: &catalog,
            now_ms: 1_000,
            node: NodeId(0),
            members: &Default::default(),
        },
        &op,
    );
    // The mirror kept in step must equal one read afresh from the document.
    assert_eq!(
        mirror,
        CartMirror::load(doc).unwrap(),
        "mirror out of step after {op:?}"
    );
    applied
}

fn add(sku: &str, quantity: i64) -> Op {
    Op::AddLine {
        sku: sku.into(),
        quantity,
    }
}

#[test]
fn adding_the_same_product_twice_adds_up_and_totals_follow() {
    let ana = actor("Ana");
    let mut doc = new_cart_doc("Picnic", "USD", &ana, 0, NodeId(0));
    let applied = apply(&mut doc, &ana, add("A", 2)).unwrap();
    assert_eq!(
        activity_text("Ana", &applied.summary, &applied.totals),
        "Ana added Product A*2. Subtotal $24.00"
    );
    apply(&mut doc, &actor("Ben"), add("A", 3)).unwrap();
    let view = view(&doc).unwrap();
    assert_eq!(view.lines.len(), 1);
    assert_eq!(view.lines[0].quantity, 5);
    assert_eq!(view.subtotal, 6000);
    assert_eq!(view.lines[0].added_by_name, "Ana");
}

#[test]
fn refusals_change_nothing() {
    let ana = actor("Ana");
    let mut doc = new_cart_doc("Picnic", "USD", &ana, 0, NodeId(0));
    let heads = doc.get_heads();
    let cases = [
        (add("NOPE", 1), ErrorCode::UnknownSku),
        (add("A", 0), ErrorCode::QuantityOutOfRange),
        (add("A", 1000), ErrorCode::QuantityOutOfRange),
        (add("B", 4), ErrorCode::OutOfStock),
        (
            Op::SetCartNote {
                note: "x".repeat(501),
            },
            ErrorCode::InvalidField,
        ),
        (
            Op::RemoveLine {
                line_id: LineId("A".into()),
            },
            ErrorCode::LineNotFound,
        ),
        (
            Op::Vote {
                suggestion_id: SuggestionId("s-x".into()),
                value: 1,
            },
            ErrorCode::SuggestionNotFound,
        ),
        (Op::Rename { name: " ".into() }, ErrorCode::InvalidField),
    ];
    for (op, code) in cases {
        let err = apply(&mut doc, &ana, op.clone()).unwrap_err();
        assert_eq!(err.code, code, "{op:?}");
        assert_eq!(doc.get_heads(), heads, "{op:?} changed the document");
    }
}

#[test]
fn quantity_changes_stay_in_range() {
    let ana = actor("Ana");
    let mut doc = new_cart_doc("Picnic", "USD", &ana, 0, NodeId(0));
    apply(&mut doc, &ana, add("A", 2)).unwrap();
    let line_id = LineId("A".into());
    let err = apply(
        &mut doc,
        &ana,
        Op::ChangeQuantity {
            line_id: line_id.clone(),
            delta: -2,
        },
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::QuantityOutOfRange);
    apply(
        &mut doc,
        &ana,
        Op::SetQuantity {
            line_id: line_id.clone(),
            quantity: 7,
        },
    )
    .unwrap();
    apply(&mut doc, &ana, Op::ChangeQuantity { line_id, delta: -1 }).unwrap();
    assert_eq!(view(&doc).unwrap().lines[0].quantity, 6);
}

#[test]
fn setting_a_field_to_its_value_makes_no_change() {
    let ana = actor("Ana");
    let mut doc = new_cart_doc("Picnic", "USD", &ana, 0, NodeId(0));
    let rename = Op::Rename {
        name: "Party".into(),
    };
    assert!(
        apply(&mut doc, &ana, rename.clone())
            .unwrap()
            .change
            .is_some()
    );
    let heads = doc.get_heads();
    assert!(apply(&mut doc, &ana, rename).unwrap().change.is_none());
    assert_eq!(doc.get_heads(), heads);
}

#[test]
fn line_cap_is_enforced() {
    let ana = actor("Ana");
    let mut doc = new_cart_doc("Picnic", "USD", &ana, 0, NodeId(0));
    let lines = root_map(&doc, "lines").unwrap();
    doc.transact::<_, _, automerge::AutomergeError>(|tx| {
        for i in 0..MAX_LINES {
            tx.put_object(&lines, format!("X{i}"), ObjType::Map)?;
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(
        apply(&mut doc, &ana, add("A", 1)).unwrap_err().code,
        ErrorCode::CartFull
    );
}

#[test]
fn suggestion_votes_and_accept() {
    let ana = actor("Ana");
    let kid = actor("Kid");
    let mut doc = new_cart_doc("Picnic", "USD", &ana, 0, NodeId(0));
    apply(
        &mut doc,
        &kid,
        Op::Suggest {
            sku: "A".into(),
            quantity: 2,
            note: Some("please".into()),
        },
    )
    .unwrap();
    let id = SuggestionId(view(&doc).unwrap().suggestions[0].suggestion_id.clone());
    apply(
        &mut doc,
        &ana,
        Op::Vote {
            suggestion_id: id.clone(),
            value: 1,
        },
    )
    .unwrap();
    assert_eq!(view(&doc).unwrap().suggestions[0].score, 1);
    let accepted = apply(&mut doc, &ana, Op::AcceptSuggestion { suggestion_id: id }).unwrap();
    assert!(
        accepted.summary.contains("Kid's suggestion"),
        "{}",
        accepted.summary
    );
    let view = view(&doc).unwrap();
    assert!(view.suggestions.is_empty());
    assert_eq!(view.lines[0].quantity, 2);
}

#[test]
fn remove_wins_over_a_concurrent_increment_when_replicas_merge() {
    let ana = actor("Ana");
    let ben = actor("Ben");
    let mut doc = new_cart_doc("Picnic", "USD", &ana, 0, NodeId(0));
    apply(&mut doc, &ana, add("A", 2)).unwrap();
    let mut other = doc.fork();
    apply(
        &mut doc,
        &ana,
        Op::RemoveLine {
            line_id: LineId("A".into()),
        },
    )
    .unwrap();
    apply(
        &mut other,
        &ben,
        Op::ChangeQuantity {
            line_id: LineId("A".into()),
            delta: 3,
        },
    )
    .unwrap();
    doc.merge(&mut other).unwrap();
    other.merge(&mut doc.clone()).unwrap();
    assert!(view(&doc).unwrap().lines.is_empty());
    assert_eq!(view(&doc).unwrap().lines, view(&other).unwrap().lines);
}

fn suggest(sku: &str, quantity: i64, note: Option<&str>) -> Op {
    Op::Suggest {
        sku: sku.into(),
        quantity,
        note: note.map(Into::into),
    }
}

#[test]
fn suggesting_the_same_product_again_adds_to_ones_own_suggestion() {
    let ana = actor("Ana");
    let kid = actor("Kid");
    let mut doc = new_cart_doc("Picnic", "USD", &ana, 0, NodeId(0));
    let first = apply(&mut doc, &kid, suggest("A", 2, None)).unwrap();
    let again = apply(&mut doc, &kid, suggest("A", 3, Some("the big ones"))).unwrap();
    assert_eq!(again.created, first.created, "the same suggestion grew");
    assert_eq!(again.summary, "suggested Product A*5");
    let v = view(&doc).unwrap();
    assert_eq!(v.suggestions.len(), 1);
    assert_eq!(v.suggestions[0].quantity, 5);
    assert_eq!(v.suggestions[0].note, "the big ones");

    // Someone else's suggestion of the same product is their own row.
    apply(&mut doc, &ana, suggest("A", 1, None)).unwrap();
    assert_eq!(view(&doc).unwrap().suggestions.len(), 2);

    // Growing past the quantity bound is refused and changes nothing.
    let over = apply(&mut doc, &kid, suggest("A", 995, None)).unwrap_err();
    assert_eq!(over.code, ErrorCode::QuantityOutOfRange);
    let kids = view(&doc).unwrap();
    assert!(
        kids.suggestions
            .iter()
            .any(|s| s.by_name == "Kid" && s.quantity == 5)
    );
}

#[test]
fn an_editor_turns_a_suggestion_down_and_its_author_withdraws_one() {
    let ana = actor("Ana");
    let kid = actor("Kid");
    let mut doc = new_cart_doc("Picnic", "USD", &ana, 0, NodeId(0));
    let a = apply(&mut doc, &kid, suggest("A", 1, None)).unwrap();
    let b = apply(&mut doc, &kid, suggest("B", 1, None)).unwrap();
    let a = SuggestionId(a.created.unwrap());
    let b = SuggestionId(b.created.unwrap());

    let rejected = apply(
        &mut doc,
        &ana,
        Op::RejectSuggestion {
            suggestion_id: a.clone(),
        },
    )
    .unwrap();
    assert_eq!(rejected.summary, "turned down Kid's suggestion Product A");
    let v = view(&doc).unwrap();
    assert_eq!(v.suggestions.len(), 1);
    assert!(v.lines.is_empty(), "nothing was added");

    // Only the author may withdraw.
    let refused = apply(
        &mut doc,
        &ana,
        Op::WithdrawSuggestion {
            suggestion_id: b.clone(),
        },
    )
    .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden);
    let withdrawn = apply(
        &mut doc,
        &kid,
        Op::WithdrawSuggestion {
            suggestion_id: b.clone(),
        },
    )
    .unwrap();
    assert_eq!(withdrawn.summary, "withdrew the suggestion Product B");
    assert!(view(&doc).unwrap().suggestions.is_empty());
    let gone = apply(&mut doc, &kid, Op::WithdrawSuggestion { suggestion_id: b }).unwrap_err();
    assert_eq!(gone.code, ErrorCode::SuggestionNotFound);
    let gone = apply(&mut doc, &ana, Op::RejectSuggestion { suggestion_id: a }).unwrap_err();
    assert_eq!(gone.code, ErrorCode::SuggestionNotFound);
}

#[test]
fn who_may_turn_down_or_withdraw_a_suggestion() {
    use cartroom_protocol::{Capability, MemberRole};
    let id = SuggestionId("s-x".into());
    let reject = Op::RejectSuggestion {
        suggestion_id: id.clone(),
    };
    let withdraw = Op::WithdrawSuggestion { suggestion_id: id };
    assert_eq!(
        crate::policy::needed_for(&reject),
        Capability::AcceptSuggestion
    );
    assert_eq!(crate::policy::needed_for(&withdraw), Capability::Suggest);
    assert!(!crate::policy::allows(
        MemberRole::Viewer,
        Capability::AcceptSuggestion
    ));
    assert!(crate::policy::allows(
        MemberRole::Viewer,
        Capability::Suggest
    ));
}
