//! How the cost of one op grows with a cart's history, and what epochs do
//! about it: applies ops to one cart document as a room does, restarting
//! the document every `epoch_every` changes (`cart::epoch`), and prints the
//! per-op percentiles of each window of changes, what the restarts cost,
//! and how long a cold load of the cart takes (its epoch's base and the
//! changes after it, then the mirror, as a room loads): at its longest,
//! just before each restart, and at the end.
//!
//! `cargo run --release -p cartroom --example op_cost -- 100000 1000`
//! (`0` as `epoch_every`: never restart; the document keeps its history).

use std::collections::HashMap;
use std::time::Instant;

use automerge::Automerge;
use cartroom::cart::{Actor, CartMirror, NodeId, OpContext, apply_op, epoch, new_cart_doc};
use cartroom::catalog::Catalog;
use cartroom::catalog::demo::demo_catalog;
use cartroom_protocol::{LineId, Op, OpId, UserId};

/// Changes per printed window.
const WINDOW: usize = 10_000;

fn main() {
    let mut args = std::env::args().skip(1);
    let total: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let epoch_every: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    // The demo catalog with stock that never runs out.
    let demo = demo_catalog();
    let mut listings = demo.listings().to_vec();
    for listing in &mut listings {
        listing.product.stock = 1_000_000;
    }
    let skus: Vec<String> = listings.iter().map(|l| l.product.sku.clone()).collect();
    let catalog = Catalog::new(demo.store.clone(), listings);
    let actors: Vec<Actor> = (0..4)
        .map(|i| Actor {
            user_id: UserId::new_random(),
            name: format!("User {i}"),
        })
        .collect();
    let members = HashMap::new();
    let mut doc = new_cart_doc("Bench", "USD", &actors[0], 0, NodeId(0));
    let mut mirror = CartMirror::load(&doc).expect("a new cart has a mirror");
    // What the store would hold: the epoch's base and the changes since.
    let mut base = doc.save();
    let mut since_base: Vec<Vec<u8>> = Vec::new();
    let mut epochs = 0;
    let mut restarts = Vec::new();
    let mut longest_loads = Vec::new();
    let mut window = Vec::with_capacity(WINDOW);
    for n in 0..total {
        let sku = skus[n % 8].as_str();
        // Eight lines, then their quantities go up and down for ever.
        let op = if n < 8 {
            Op::AddLine {
                sku: sku.into(),
                quantity: 1,
            }
        } else {
            Op::ChangeQuantity {
                line_id: LineId(sku.into()),
                delta: if (n / 8) % 2 == 1 { 1 } else { -1 },
            }
        };
        let op_id = OpId(format!("op-{n}"));
        let ctx = OpContext {
            actor: &actors[n % 4],
            op_id: &op_id,
            catalog: &catalog,
            now_ms: n as i64,
            node: NodeId(0),
            members: &members,
        };
        let started = Instant::now();
        let applied = apply_op(&mut doc, &mut mirror, &ctx, &op).expect("op applies");
        // The room reads the heads for the ack.
        let _ = doc.get_heads();
        window.push(started.elapsed().as_secs_f64() * 1e6);
        since_base.push(applied.change.expect("every op changes the cart"));
        if epoch_every > 0 && since_base.len() >= epoch_every {
            longest_loads.push(cold_load(&base, &since_base));
            let started = Instant::now();
            epochs += 1;
            doc = epoch::restart(&doc, epochs, n as i64, NodeId(0)).expect("restart");
            mirror = CartMirror::load(&doc).expect("the restarted cart has a mirror");
            base = doc.save();
            restarts.push(started.elapsed().as_secs_f64() * 1e3);
            since_base.clear();
        }
        if window.len() == WINDOW {
            print_window(n + 1, &mut window);
        }
    }
    if !window.is_empty() {
        print_window(total, &mut window);
    }
    if !restarts.is_empty() {
        restarts.sort_by(f64::total_cmp);
        longest_loads.sort_by(f64::total_cmp);
        println!(
            "{} epochs: restart (copy, mirror, save) median {:.2} ms, max {:.2} ms; \
             cold load of base + {epoch_every} changes median {:.2} ms, max {:.2} ms",
            restarts.len(),
            restarts[restarts.len() / 2],
            restarts[restarts.len() - 1],
            longest_loads[longest_loads.len() / 2],
            longest_loads[longest_loads.len() - 1],
        );
    }
    let ms = cold_load(&base, &since_base);
    println!(
        "cold load at the end: base {} bytes + {} changes in {ms:.2} ms; document {} changes, {} bytes saved",
        base.len(),
        since_base.len(),
        history(&doc),
        doc.save().len(),
    );
}

/// Milliseconds to load a cart as a room does: the base, the changes after
/// it, the mirror.
fn cold_load(base: &[u8], changes: &[Vec<u8>]) -> f64 {
    let started = Instant::now();
    let doc = epoch::load(base, changes).expect("the cart loads");
    CartMirror::load(&doc).expect("the loaded cart has a mirror");
    started.elapsed().as_secs_f64() * 1e3
}

/// Mean and percentiles of a window of per-op times (µs), then clears it.
fn print_window(changes: usize, window: &mut Vec<f64>) {
    window.sort_by(f64::total_cmp);
    let at = |q: f64| window[((window.len() as f64 * q) as usize).min(window.len() - 1)];
    let mean = window.iter().sum::<f64>() / window.len() as f64;
    println!(
        "changes {changes:>7}: mean {mean:>7.1} µs/op, p50 {:>7.1}, p99 {:>7.1}, max {:>8.1}",
        at(0.5),
        at(0.99),
        window[window.len() - 1],
    );
    window.clear();
}

fn history(doc: &Automerge) -> usize {
    doc.get_changes_meta(&[]).len()
}
