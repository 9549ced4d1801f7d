//! Cost of one Automerge change as a cart's history grows (automerge 0.12):
//! creating it in a transaction, extracting its bytes, applying it to a
//! replica. `cargo run --release -p cartroom-loadtest --example automerge_cost`.
//! Figures are in docs/BENCHMARKS.md.
use automerge::transaction::{CommitOptions, Transactable as _};
use automerge::{AutoCommit, Automerge, ObjType, ROOT, ScalarValue};
use std::time::{Duration, Instant};

fn run(
    label: &str,
    n: usize,
    f: &dyn Fn(&mut automerge::transaction::Transaction<'_>, &automerge::ObjId, usize),
) {
    let mut doc = AutoCommit::new();
    let lines = doc.put_object(ROOT, "lines", ObjType::Map).unwrap();
    let l = doc.put_object(&lines, "MUG-BLUE", ObjType::Map).unwrap();
    doc.put(&l, "quantity", ScalarValue::counter(100)).unwrap();
    doc.commit();
    let mut raw: Automerge = doc.document().clone();
    let mut replica: Automerge = raw.clone();
    let (mut tx_t, mut ext_t, mut app_t) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut samples = 0u32;
    for i in 0..n {
        let t = Instant::now();
        let mut tx = raw.transaction();
        f(&mut tx, &l, i);
        tx.commit_with(CommitOptions::default().with_message(format!("op {i}")));
        let d1 = t.elapsed();
        let t = Instant::now();
        let bytes = raw.get_last_local_change().unwrap().raw_bytes().to_vec();
        let d2 = t.elapsed();
        let t = Instant::now();
        replica.load_incremental(&bytes).unwrap();
        let d3 = t.elapsed();
        if i >= n - 100 {
            tx_t += d1;
            ext_t += d2;
            app_t += d3;
            samples += 1;
        }
    }
    println!(
        "{label:40} at {n}: tx {:?} extract {:?} apply {:?}",
        tx_t / samples,
        ext_t / samples,
        app_t / samples
    );
}

fn main() {
    for n in [200, 1000, 3000] {
        run("counter increment only", n, &|tx, l, _| {
            tx.increment(l, "quantity", 1).unwrap();
        });
        run("increment + root subtotal put", n, &|tx, l, i| {
            tx.increment(l, "quantity", 1).unwrap();
            tx.put(ROOT, "subtotal", i as i64).unwrap();
        });
        run("note put (same key)", n, &|tx, l, i| {
            tx.put(l, "note", format!("n{i}")).unwrap();
        });
    }
}
