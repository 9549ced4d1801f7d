//! How the cost of one op grows with a cart's history: applies ops to one
//! cart document and prints the mean apply time per thousand changes.
//!
//! `cargo run --release -p cartroom --example op_cost -- 10000`

use std::time::Instant;

use cartroom::cart::{Actor, CartMirror, NodeId, OpContext, apply_op, new_cart_doc};
use cartroom::catalog::Catalog;
use cartroom::catalog::demo::demo_catalog;
use cartroom_protocol::{LineId, Op, OpId, UserId};

fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
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
    let mut doc = new_cart_doc("Bench", "USD", &actors[0], 0, NodeId(0));
    let mut mirror = CartMirror::load(&doc).expect("a new cart has a mirror");
    let mut window = Vec::with_capacity(1000);
    for n in 0..total {
        let sku = skus[n % 8].as_str();
        let op = if n < 8 {
            Op::AddLine {
                sku: sku.into(),
                quantity: 1,
            }
        } else if (n / 8) % 2 == 1 {
            Op::ChangeQuantity {
                line_id: LineId(sku.into()),
                delta: 1,
            }
        } else {
            Op::ChangeQuantity {
                line_id: LineId(sku.into()),
                delta: -1,
            }
        };
        let op_id = OpId(format!("op-{n}"));
        let members = std::collections::HashMap::new();
        let ctx = OpContext {
            actor: &actors[n % 4],
            op_id: &op_id,
            catalog: &catalog,
            now_ms: n as i64,
            node: NodeId(0),
            members: &members,
        };
        let started = Instant::now();
        apply_op(&mut doc, &mut mirror, &ctx, &op).expect("op applies");
        let _ = doc.get_heads();
        window.push(started.elapsed().as_secs_f64() * 1e6);
        if window.len() == 1000 {
            window.sort_by(f64::total_cmp);
            let mean = window.iter().sum::<f64>() / 1000.0;
            println!(
                "changes {:>6}: mean {mean:>6.1} µs/op, p50 {:>6.1}, p99 {:>6.1}, max {:>6.1}",
                n + 1,
                window[500],
                window[990],
                window[999]
            );
            window.clear();
        }
    }
    let started = Instant::now();
    let saved = doc.save();
    println!(
        "save: {} bytes in {:.1} ms",
        saved.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
}
