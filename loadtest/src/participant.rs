//! One simulated participant: a real WebSocket client that subscribes on
//! the `compact` stream (one kind-3 frame per change, coalesced when several
//! leave together), (maybe) keeps Automerge replicas, sends ops at its rate
//! and times what it receives. An epoch change replaces the document: the
//! fingerprint then starts again from the new document's heads.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use automerge::{Automerge, ChangeHash};
use cartroom_client::chunks::change_infos;
use cartroom_client::{Account, ConnectOptions, Event};
use cartroom_protocol::{CartId, ClientMsg, FrameKind, LineId, Op, OpId, ServerMsg, StreamKind};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

use crate::stats::{Stats, op_id, op_key, parse_op_id};

/// Where the run is; participants watch it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Connecting and subscribing; nobody sends yet.
    Setup,
    /// Sending ops (the first `warmup` seconds are not measured).
    Run,
    /// No more ops; waiting for the last acks and deliveries.
    Drain,
    /// Report and close.
    Done,
}

/// What one participant does.
pub struct Spec {
    pub idx: u32,
    pub account: Account,
    /// Carts to subscribe to (none for an idle connection).
    pub carts: Vec<CartId>,
    /// Sends ops to `carts[0]` when true.
    pub sends: bool,
    /// How many other subscribers receive each op this participant sends.
    pub others: u32,
    pub keep_replica: bool,
    /// Lines the ops pick from (the seeded skus).
    pub lines: Arc<Vec<String>>,
    /// Ops per second.
    pub rate: f64,
    /// For idle connections: seconds between pings (0: never).
    pub ping_every: f64,
    /// Delay before connecting (the connection ramp).
    pub start_delay: Duration,
    pub options: ConnectOptions,
}

/// What a participant saw, for the convergence check.
pub struct CartRecord {
    pub cart: CartId,
    /// Heads announced by `subscribed`, or by the latest `epoch` (the
    /// document it announces starts the fingerprint again).
    pub subscribed_heads: Vec<ChangeHash>,
    /// XOR of the hashes of every change received after those heads, and
    /// their count: an order-independent fingerprint to compare with the
    /// server's document without keeping a replica.
    pub xor: [u8; 32],
    pub changes: u64,
    pub replica: Option<Automerge>,
}

pub struct Outcome {
    /// False when connecting or subscribing failed, or the socket closed.
    pub healthy: bool,
    pub carts: Vec<CartRecord>,
}

/// Ops sent and not yet answered, over all participants.
pub static IN_FLIGHT: AtomicU64 = AtomicU64::new(0);
/// Change frames read by all participants; the run ends once it stops moving.
pub static FRAMES_READ: AtomicU64 = AtomicU64::new(0);

/// A small, fast PRNG; the load does not need better.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub async fn run(
    spec: Spec,
    stats: Arc<Stats>,
    connect_gate: Arc<Semaphore>,
    mut phase: watch::Receiver<Phase>,
) -> Outcome {
    let mut out = Outcome {
        healthy: false,
        carts: Vec::new(),
    };
    tokio::time::sleep(spec.start_delay).await;
    let shard = spec.idx as usize;
    let mut conn = {
        let _permit = connect_gate.acquire().await;
        let t = Instant::now();
        let conn = match spec.account.connect_with(&spec.options).await {
            Ok(c) => c,
            Err(e) => {
                let code = cartroom_client::api_error(&e).map_or("connect_failed".into(), |a| {
                    format!("connect_http_{}", a.status)
                });
                stats.error(code);
                eprintln!("participant {}: connect: {e:#}", spec.idx);
                return out;
            }
        };
        stats.connect.record(shard, t.elapsed().as_micros() as u64);
        stats.connected.fetch_add(1, Relaxed);
        let mut conn = conn;
        for &cart in &spec.carts {
            let t = Instant::now();
            match conn.subscribe_to(cart, StreamKind::Compact).await {
                Ok(sub) => {
                    stats
                        .subscribe
                        .record(shard, t.elapsed().as_micros() as u64);
                    out.carts.push(CartRecord {
                        cart,
                        subscribed_heads: sub.heads.iter().filter_map(|h| h.parse().ok()).collect(),
                        xor: [0; 32],
                        changes: 0,
                        replica: None,
                    });
                }
                Err(e) => {
                    let code = e
                        .downcast_ref::<cartroom_client::ServerError>()
                        .map_or("subscribe_failed".into(), |s| {
                            format!("subscribe_{}", s.code)
                        });
                    stats.error(code);
                    eprintln!("participant {}: subscribe: {e:#}", spec.idx);
                    return out;
                }
            }
        }
        stats.subscribed.fetch_add(1, Relaxed);
        conn
    };
    out.healthy = true;

    let mut rng = XorShift(
        0x9E37_79B9_7F4A_7C15 ^ (u64::from(spec.idx) + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9),
    );
    let interval = if spec.rate > 0.0 {
        1.0 / spec.rate
    } else {
        f64::INFINITY
    };
    // A random phase, so that participants do not send in lockstep.
    let mut next_op = Instant::now() + secs(interval * rng.unit());
    let mut next_ping = Instant::now() + secs(spec.ping_every * (0.5 + rng.unit()));
    let mut seq: u32 = 0;
    // Per line, this participant's net quantity change stays in -1..=1.
    let mut quantity_steps = vec![0i64; spec.lines.len()];
    loop {
        let now_phase = *phase.borrow();
        if now_phase == Phase::Done {
            break;
        }
        let sending = now_phase == Phase::Run && spec.sends && interval.is_finite();
        let pinging = spec.ping_every > 0.0;
        tokio::select! {
            changed = phase.changed() => {
                if changed.is_err() {
                    break;
                }
                if *phase.borrow() == Phase::Run {
                    next_op = Instant::now() + secs(interval * rng.unit());
                }
            }
            _ = tokio::time::sleep_until(next_op), if sending => {
                // The phase may have moved on while this timer was due.
                if *phase.borrow() != Phase::Run {
                    continue;
                }
                seq += 1;
                let sent_us = stats.now_us();
                let li = (rng.next() % spec.lines.len() as u64) as usize;
                let line = LineId(spec.lines[li].clone());
                // A random walk around the seeded quantity, and notes that
                // always change: every op yields one change.
                let op = if rng.next().is_multiple_of(2) {
                    let steps = &mut quantity_steps[li];
                    let delta = if *steps > 0 || (*steps == 0 && rng.next().is_multiple_of(2)) { -1 } else { 1 };
                    *steps += delta;
                    Op::ChangeQuantity { line_id: line, delta }
                } else {
                    Op::SetLineNote { line_id: line, note: format!("n{}.{seq}", spec.idx) }
                };
                let key = op_key(spec.idx, seq);
                stats.op_sent(key, sent_us, spec.others);
                IN_FLIGHT.fetch_add(1, Relaxed);
                let msg = ClientMsg::Op {
                    cart_id: spec.carts[0],
                    op_id: OpId(op_id(spec.idx, seq, sent_us)),
                    op,
                };
                if let Err(e) = conn.send(&msg).await {
                    stats.error("send_failed");
                    eprintln!("participant {}: send: {e:#}", spec.idx);
                    IN_FLIGHT.fetch_sub(1, Relaxed);
                    stats.op_refused(key);
                    out.healthy = false;
                    break;
                }
                // Jitter of +-10% keeps the rate without a fixed beat.
                next_op += secs(interval * (0.9 + 0.2 * rng.unit()));
                if next_op < Instant::now() {
                    next_op = Instant::now();
                }
            }
            _ = tokio::time::sleep_until(next_ping), if pinging => {
                stats.pings.fetch_add(1, Relaxed);
                if conn.send(&ClientMsg::Ping { nonce: Some(spec.idx.into()) }).await.is_err() {
                    stats.error("send_failed");
                    out.healthy = false;
                    break;
                }
                next_ping += secs(spec.ping_every);
            }
            ev = conn.next_event_timeout(Duration::from_secs(5)) => {
                match ev {
                    Ok(None) => {}
                    Ok(Some(ev)) => {
                        if !handle(&spec, &stats, &mut conn, &mut out, ev) {
                            out.healthy = false;
                            break;
                        }
                    }
                    Err(e) => {
                        stats.error("client_error");
                        eprintln!("participant {}: {e:#}", spec.idx);
                        out.healthy = false;
                        break;
                    }
                }
            }
        }
    }
    if spec.keep_replica {
        for rec in &mut out.carts {
            rec.replica = conn.take_replica(rec.cart);
        }
    }
    // Wait for the end of the run before closing, so that a participant
    // that stopped early does not change the others' room.
    while *phase.borrow() != Phase::Done {
        if phase.changed().await.is_err() {
            break;
        }
    }
    conn.close().await;
    out
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.clamp(0.0, 1e6))
}

/// Handles one event; false when the connection is gone.
fn handle(
    spec: &Spec,
    stats: &Stats,
    conn: &mut cartroom_client::Connection,
    out: &mut Outcome,
    ev: Event,
) -> bool {
    let shard = spec.idx as usize;
    match ev {
        Event::Changes { cart } => {
            FRAMES_READ.fetch_add(1, Relaxed);
            let Some((kind, _, payload)) = conn.last_frame() else {
                return true;
            };
            // The document after an `epoch`: its heads are announced, and
            // the changes that follow build on it.
            if kind == FrameKind::Document {
                return true;
            }
            let infos = match change_infos(payload) {
                Ok(i) => i,
                Err(e) => {
                    stats.error("unreadable_change");
                    eprintln!("participant {}: {e:#}", spec.idx);
                    return true;
                }
            };
            let now = stats.now_us();
            let Some(rec) = out.carts.iter_mut().find(|r| r.cart == cart) else {
                stats.error("frame_for_unknown_cart");
                return true;
            };
            for info in infos {
                for (x, h) in rec.xor.iter_mut().zip(info.hash.0.iter()) {
                    *x ^= h;
                }
                rec.changes += 1;
                if let Some((p, seq, sent_us)) = info.op_id.as_deref().and_then(parse_op_id)
                    && p != spec.idx
                {
                    stats.delivered(shard, op_key(p, seq), sent_us, now);
                }
            }
        }
        Event::Msg(msg) => {
            stats.messages_received.fetch_add(1, Relaxed);
            match msg {
                ServerMsg::Ack { op_id, .. } => {
                    IN_FLIGHT.fetch_sub(1, Relaxed);
                    stats.ops_acked.fetch_add(1, Relaxed);
                    if let Some((_, _, sent_us)) = parse_op_id(&op_id.0)
                        && stats.measured(sent_us)
                    {
                        stats.ops_acked_measured.fetch_add(1, Relaxed);
                        stats
                            .ack
                            .record(shard, stats.now_us().saturating_sub(sent_us));
                    }
                }
                ServerMsg::Error {
                    code,
                    op_id,
                    message,
                    ..
                } => {
                    stats.error(code.as_str());
                    if let Some((p, seq, _)) = op_id.as_ref().and_then(|id| parse_op_id(&id.0)) {
                        IN_FLIGHT.fetch_sub(1, Relaxed);
                        stats.op_refused(op_key(p, seq));
                    }
                    if stats.errors().values().sum::<u64>() <= 10 {
                        eprintln!("participant {}: error {code}: {message}", spec.idx);
                    }
                }
                ServerMsg::Unsubscribed { reason, .. } => {
                    stats.error(format!("unsubscribed_{reason}"));
                }
                ServerMsg::Epoch { cart_id, heads, .. } => {
                    if let Some(rec) = out.carts.iter_mut().find(|r| r.cart == cart_id) {
                        rec.subscribed_heads =
                            heads.iter().filter_map(|h| h.parse().ok()).collect();
                        rec.xor = [0; 32];
                        rec.changes = 0;
                    }
                }
                _ => {}
            }
        }
        Event::Closed { code, reason } => {
            stats.error(format!(
                "closed_{}",
                code.map_or("without_code".into(), |c| c.to_string())
            ));
            eprintln!("participant {}: closed {code:?} {reason}", spec.idx);
            return false;
        }
    }
    true
}
