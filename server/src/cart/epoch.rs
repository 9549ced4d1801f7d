//! Epochs: a cart's document restarted from its current state.
//!
//! An Automerge document keeps every change it ever had, so its memory, the
//! cost of an op and the time to load it grow with the cart's history. Every
//! so many changes the room starts a new epoch: [`restart`] makes a fresh
//! document whose one change writes the current state (maps, lists, text,
//! counters and scalars, the winning value of each conflict) and none of
//! the history. The store archives the old epoch, which history still reads
//! (`services::history`).
//!
//! That change is the server's, its message `{"kind":"epoch","epoch":n}`:
//! history leaves it out of the edits it lists, and [`epoch_of`] reads from
//! a document which epoch it is.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{Automerge, AutomergeError, ObjId, ROOT, hydrate};

use super::actor::NodeId;
use super::server_op::server_actor;

/// The `kind` in the message of an epoch's first change.
pub const EPOCH_KIND: &str = "epoch";

/// A new document for epoch `epoch` holding `doc`'s current state, made at
/// `now_ms` by the server.
pub fn restart(
    doc: &Automerge,
    epoch: i64,
    now_ms: i64,
    node: NodeId,
) -> Result<Automerge, AutomergeError> {
    let hydrate::Value::Map(root) = doc.hydrate(None) else {
        unreachable!("a document's root is a map");
    };
    let actor = server_actor();
    let message = serde_json::json!({
        "user_id": actor.user_id,
        "user_name": actor.name,
        "kind": EPOCH_KIND,
        "epoch": epoch,
        "at": now_ms,
    });
    let mut fresh = Automerge::new();
    fresh.set_actor(actor.automerge_actor(node));
    fresh
        .transact_with::<_, _, AutomergeError, _>(
            |_| {
                CommitOptions::default()
                    .with_message(message.to_string())
                    .with_time(now_ms / 1000)
            },
            |tx| {
                for (key, value) in root.iter() {
                    put(tx, &ROOT, key, &value.value)?;
                }
                Ok(())
            },
        )
        .map_err(|failure| failure.error)?;
    Ok(fresh)
}

/// The document of an epoch: its base, then the changes made after it, in
/// order. The changes go in as one batch: applying them one call at a time
/// costs a pass over the document each.
pub fn load(base: &[u8], changes: &[Vec<u8>]) -> Result<Automerge, AutomergeError> {
    let mut doc = Automerge::load(base)?;
    let batch: Vec<u8> = changes.concat();
    if !batch.is_empty() {
        doc.load_incremental(&batch)?;
    }
    Ok(doc)
}

/// Which epoch `doc` is: the number its first change names, 0 for a
/// document that never restarted.
pub fn epoch_of(doc: &Automerge) -> i64 {
    doc.get_changes_meta(&[])
        .iter()
        .find(|change| change.deps.is_empty())
        .and_then(|first| first.message.as_deref())
        .and_then(|message| serde_json::from_str::<serde_json::Value>(message).ok())
        .filter(|message| message["kind"] == EPOCH_KIND)
        .and_then(|message| message["epoch"].as_i64())
        .unwrap_or(0)
}

/// Writes `value` at `parent[key]`. A counter is written as a counter
/// holding its current value, so that later increments add to it (the
/// tests check this).
fn put(
    tx: &mut impl Transactable,
    parent: &ObjId,
    key: &str,
    value: &hydrate::Value,
) -> Result<(), AutomergeError> {
    match value {
        hydrate::Value::Scalar(scalar) => tx.put(parent, key, scalar.clone()),
        hydrate::Value::Map(map) => {
            let obj = tx.put_object(parent, key, automerge::ObjType::Map)?;
            fill_map(tx, &obj, map)
        }
        hydrate::Value::List(list) => {
            let obj = tx.put_object(parent, key, automerge::ObjType::List)?;
            fill_list(tx, &obj, list)
        }
        hydrate::Value::Text(text) => {
            let obj = tx.put_object(parent, key, automerge::ObjType::Text)?;
            tx.splice_text(&obj, 0, 0, &String::from(text))
        }
    }
}

fn fill_map(
    tx: &mut impl Transactable,
    obj: &ObjId,
    map: &hydrate::Map,
) -> Result<(), AutomergeError> {
    for (key, value) in map.iter() {
        put(tx, obj, key, &value.value)?;
    }
    Ok(())
}

fn fill_list(
    tx: &mut impl Transactable,
    obj: &ObjId,
    list: &hydrate::List,
) -> Result<(), AutomergeError> {
    for (index, item) in list.iter().enumerate() {
        match &item.value {
            hydrate::Value::Scalar(scalar) => tx.insert(obj, index, scalar.clone())?,
            hydrate::Value::Map(map) => {
                let child = tx.insert_object(obj, index, automerge::ObjType::Map)?;
                fill_map(tx, &child, map)?;
            }
            hydrate::Value::List(inner) => {
                let child = tx.insert_object(obj, index, automerge::ObjType::List)?;
                fill_list(tx, &child, inner)?;
            }
            hydrate::Value::Text(text) => {
                let child = tx.insert_object(obj, index, automerge::ObjType::Text)?;
                tx.splice_text(&child, 0, 0, &String::from(text))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ReadDoc, ScalarValue, Value};
    use cartroom_protocol::{Op, OpId, UserId};

    use super::*;
    use crate::cart::{Actor, CartMirror, OpContext, apply_op, new_cart_doc, view};
    use crate::catalog::demo::demo_catalog;

    /// A document with every kind of value, and a history under it.
    fn every_kind() -> Automerge {
        let mut doc = Automerge::new();
        doc.transact::<_, _, AutomergeError>(|tx| {
            tx.put(ROOT, "str", "mug")?;
            tx.put(ROOT, "int", -3_i64)?;
            tx.put(ROOT, "uint", 7_u64)?;
            tx.put(ROOT, "f64", 1.5_f64)?;
            tx.put(ROOT, "bool", true)?;
            tx.put(ROOT, "null", ScalarValue::Null)?;
            tx.put(ROOT, "bytes", ScalarValue::Bytes(vec![0, 1, 255]))?;
            tx.put(ROOT, "timestamp", ScalarValue::Timestamp(1_795_000_000_000))?;
            tx.put(ROOT, "counter", ScalarValue::counter(10))?;
            let text = tx.put_object(ROOT, "text", ObjType::Text)?;
            tx.splice_text(&text, 0, 0, "hello")?;
            let list = tx.put_object(ROOT, "list", ObjType::List)?;
            tx.insert(&list, 0, "first")?;
            tx.insert(&list, 1, ScalarValue::counter(2))?;
            let in_list = tx.insert_object(&list, 2, ObjType::Map)?;
            tx.put(&in_list, "deep", 1_i64)?;
            let nested = tx.insert_object(&list, 3, ObjType::List)?;
            tx.insert(&nested, 0, false)?;
            let note = tx.insert_object(&list, 4, ObjType::Text)?;
            tx.splice_text(&note, 0, 0, "in a list")?;
            let map = tx.put_object(ROOT, "map", ObjType::Map)?;
            tx.put_object(&map, "empty", ObjType::Map)?;
            Ok(())
        })
        .unwrap();
        // History the copy must not carry: increments, edits, deletions.
        for _ in 0..5 {
            doc.transact::<_, _, AutomergeError>(|tx| {
                tx.increment(ROOT, "counter", 3)?;
                let text = tx.get(ROOT, "text")?.unwrap().1;
                tx.splice_text(&text, 5, 0, "!")?;
                tx.put(ROOT, "gone", 1_i64)?;
                tx.delete(ROOT, "gone")?;
                Ok(())
            })
            .unwrap();
        }
        doc
    }

    #[test]
    fn every_kind_of_value_survives_without_the_history() {
        let doc = every_kind();
        let fresh = restart(&doc, 4, 1_795_000_000_000, NodeId(0)).unwrap();
        assert_eq!(fresh.hydrate(None), doc.hydrate(None));
        let text = fresh.get(ROOT, "text").unwrap().unwrap().1;
        assert_eq!(fresh.text(&text).unwrap(), "hello!!!!!");
        assert_eq!(fresh.get_changes(&[]).len(), 1);
        assert_eq!(epoch_of(&fresh), 4);
        assert_eq!(epoch_of(&doc), 0);
        // The copy loads from its bytes like any document.
        let loaded = Automerge::load(&fresh.save()).unwrap();
        assert_eq!(loaded.hydrate(None), doc.hydrate(None));
    }

    #[test]
    fn counters_stay_counters_so_increments_still_merge() {
        // As subscribers and a reloaded room get it: saved and loaded.
        let fresh = restart(&every_kind(), 1, 0, NodeId(0)).unwrap();
        let fresh = Automerge::load(&fresh.save()).unwrap();
        let counter = |doc: &Automerge| match doc.get(ROOT, "counter").unwrap().unwrap().0 {
            Value::Scalar(value) => match value.as_ref() {
                ScalarValue::Counter(counter) => i64::from(counter),
                other => panic!("not a counter: {other:?}"),
            },
            other => panic!("not a scalar: {other:?}"),
        };
        assert_eq!(counter(&fresh), 25);
        // Two replicas increment concurrently: both increments count.
        let mut left = fresh.fork();
        let mut right = fresh.fork();
        for (doc, by) in [(&mut left, 2), (&mut right, -7)] {
            doc.transact::<_, _, AutomergeError>(|tx| tx.increment(ROOT, "counter", by))
                .unwrap();
        }
        left.merge(&mut right).unwrap();
        assert_eq!(counter(&left), 20);
    }

    #[test]
    fn a_cart_restarted_reads_and_takes_ops_as_before() {
        let catalog = demo_catalog();
        let sku = catalog.listings()[0].product.sku.clone();
        let ana = Actor {
            user_id: UserId::new_random(),
            name: "Ana".into(),
        };
        let members = std::collections::HashMap::new();
        let mut doc = new_cart_doc("Picnic", "USD", &ana, 0, NodeId(0));
        let mut mirror = CartMirror::load(&doc).unwrap();
        let op = |doc: &mut Automerge, mirror: &mut CartMirror, n: usize, op: Op| {
            let op_id = OpId(format!("op-{n}"));
            let ctx = OpContext {
                actor: &ana,
                op_id: &op_id,
                catalog: &catalog,
                now_ms: 1_000,
                node: NodeId(0),
                members: &members,
            };
            apply_op(doc, mirror, &ctx, &op).unwrap();
        };
        op(
            &mut doc,
            &mut mirror,
            0,
            Op::AddLine {
                sku: sku.clone(),
                quantity: 2,
            },
        );
        for n in 1..20 {
            let delta = if n % 2 == 0 { -1 } else { 2 };
            op(
                &mut doc,
                &mut mirror,
                n,
                Op::ChangeQuantity {
                    line_id: cartroom_protocol::LineId(sku.clone()),
                    delta,
                },
            );
        }
        let mut fresh = restart(&doc, 1, 2_000, NodeId(0)).unwrap();
        let without_heads = |doc: &Automerge| cartroom_protocol::http::CartView {
            heads: cartroom_protocol::Heads(Vec::new()),
            ..view(doc).unwrap()
        };
        assert_eq!(without_heads(&fresh), without_heads(&doc));
        let mut fresh_mirror = CartMirror::load(&fresh).unwrap();
        assert_eq!(fresh_mirror.totals(), mirror.totals());
        op(
            &mut fresh,
            &mut fresh_mirror,
            20,
            Op::ChangeQuantity {
                line_id: cartroom_protocol::LineId(sku.clone()),
                delta: 5,
            },
        );
        let after = view(&fresh).unwrap();
        assert_eq!(after.lines[0].quantity, 2 + 20 - 9 + 5);
        assert_eq!(after.subtotal, fresh_mirror.subtotal());
    }
}
