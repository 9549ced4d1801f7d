//! What a run measures: latency histograms, counters, errors by code, and
//! the table of pending ops that turns deliveries into "every other member
//! received it" latencies.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Histograms are sharded so that thousands of tasks rarely wait on one
/// lock. Std mutexes: nothing awaits while holding one.
const SHARDS: usize = 32;

/// One latency distribution, in microseconds.
pub struct Latency {
    shards: Vec<Mutex<Histogram<u64>>>,
}

impl Latency {
    fn new() -> Self {
        let shards = (0..SHARDS)
            .map(|_| {
                // 1 µs .. 10 min, 3 significant digits.
                Mutex::new(Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds"))
            })
            .collect();
        Self { shards }
    }

    pub fn record(&self, shard: usize, micros: u64) {
        let mut h = self.shards[shard % SHARDS].lock().expect("poisoned");
        h.saturating_record(micros.max(1));
    }

    fn merged(&self) -> Histogram<u64> {
        let mut all = Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds");
        for s in &self.shards {
            all.add(&*s.lock().expect("poisoned")).expect("same bounds");
        }
        all
    }

    pub fn summary(&self) -> LatencySummary {
        let h = self.merged();
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        LatencySummary {
            count: h.len(),
            p50_ms: ms(0.5),
            p90_ms: ms(0.9),
            p99_ms: ms(0.99),
            p999_ms: ms(0.999),
            max_ms: h.max() as f64 / 1000.0,
            mean_ms: h.mean() / 1000.0,
        }
    }
}

/// Percentiles of one latency, in milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

/// An op sent but not yet seen by every other member of its cart.
struct Pending {
    remaining: u32,
    sent_us: u64,
    measured: bool,
}

/// Everything a run counts; shared by all participants.
pub struct Stats {
    pub start: Instant,
    /// Ops sent at or after this moment (µs since `start`) are measured.
    pub measure_from_us: AtomicU64,
    /// Ops sent before this moment are measured (set when sending stops).
    pub measure_until_us: AtomicU64,
    pub ack: Latency,
    pub delivery: Latency,
    pub all_members: Latency,
    pub connect: Latency,
    pub subscribe: Latency,
    pub ops_sent: AtomicU64,
    pub ops_acked: AtomicU64,
    pub ops_acked_measured: AtomicU64,
    pub deliveries: AtomicU64,
    pub deliveries_measured: AtomicU64,
    pub messages_received: AtomicU64,
    pub connected: AtomicU64,
    pub subscribed: AtomicU64,
    pub pings: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    pending: Vec<Mutex<HashMap<u64, Pending>>>,
}

impl Stats {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            measure_from_us: AtomicU64::new(u64::MAX),
            measure_until_us: AtomicU64::new(u64::MAX),
            ack: Latency::new(),
            delivery: Latency::new(),
            all_members: Latency::new(),
            connect: Latency::new(),
            subscribe: Latency::new(),
            ops_sent: AtomicU64::new(0),
            ops_acked: AtomicU64::new(0),
            ops_acked_measured: AtomicU64::new(0),
            deliveries: AtomicU64::new(0),
            deliveries_measured: AtomicU64::new(0),
            messages_received: AtomicU64::new(0),
            connected: AtomicU64::new(0),
            subscribed: AtomicU64::new(0),
            pings: AtomicU64::new(0),
            errors: Mutex::new(BTreeMap::new()),
            pending: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// Microseconds since the run started: the clock of op ids.
    pub fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    /// Whether an op sent at `sent_us` falls in the measured window.
    pub fn measured(&self, sent_us: u64) -> bool {
        sent_us >= self.measure_from_us.load(Relaxed)
            && sent_us < self.measure_until_us.load(Relaxed)
    }

    pub fn error(&self, code: impl Into<String>) {
        *self
            .errors
            .lock()
            .expect("poisoned")
            .entry(code.into())
            .or_default() += 1;
    }

    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.errors.lock().expect("poisoned").clone()
    }

    /// Registers an op that `others` other members should receive.
    pub fn op_sent(&self, key: u64, sent_us: u64, others: u32) {
        self.ops_sent.fetch_add(1, Relaxed);
        if others == 0 {
            return;
        }
        let measured = self.measured(sent_us);
        self.pending[key as usize % SHARDS]
            .lock()
            .expect("poisoned")
            .insert(
                key,
                Pending {
                    remaining: others,
                    sent_us,
                    measured,
                },
            );
    }

    /// The op was refused: nobody will receive it.
    pub fn op_refused(&self, key: u64) {
        self.pending[key as usize % SHARDS]
            .lock()
            .expect("poisoned")
            .remove(&key);
    }

    /// One member received the op's change.
    pub fn delivered(&self, shard: usize, key: u64, sent_us: u64, now_us: u64) {
        self.deliveries.fetch_add(1, Relaxed);
        let measured = self.measured(sent_us);
        if measured {
            self.deliveries_measured.fetch_add(1, Relaxed);
            self.delivery.record(shard, now_us.saturating_sub(sent_us));
        }
        let mut map = self.pending[key as usize % SHARDS]
            .lock()
            .expect("poisoned");
        let Some(p) = map.get_mut(&key) else {
            return;
        };
        p.remaining -= 1;
        if p.remaining == 0 {
            if p.measured {
                self.all_members
                    .record(shard, now_us.saturating_sub(p.sent_us));
            }
            map.remove(&key);
        }
    }

    /// Ops some member has not received yet.
    pub fn pending_ops(&self) -> usize {
        self.pending
            .iter()
            .map(|m| m.lock().expect("poisoned").len())
            .sum()
    }
}

/// The key of an op in the pending table: participant index and sequence.
pub fn op_key(participant: u32, seq: u32) -> u64 {
    (u64::from(participant) << 32) | u64::from(seq)
}

/// `lt{participant}.{seq}.{sent_us}`: everything a receiver needs to time
/// the delivery, with no shared table lookup for the send time.
pub fn op_id(participant: u32, seq: u32, sent_us: u64) -> String {
    format!("lt{participant}.{seq}.{sent_us}")
}

/// Reads back an op id made by [`op_id`].
pub fn parse_op_id(id: &str) -> Option<(u32, u32, u64)> {
    let mut parts = id.strip_prefix("lt")?.split('.');
    let p = parts.next()?.parse().ok()?;
    let s = parts.next()?.parse().ok()?;
    let t = parts.next()?.parse().ok()?;
    Some((p, s, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_ids_round_trip_and_fit_the_protocol_bound() {
        let id = op_id(u32::MAX, u32::MAX, u64::MAX);
        assert!(id.len() <= cartroom_protocol::limits::MAX_OP_ID_LEN);
        assert_eq!(parse_op_id(&id), Some((u32::MAX, u32::MAX, u64::MAX)));
        assert_eq!(parse_op_id("c1-7"), None);
    }

    #[test]
    fn an_op_counts_for_all_members_once_everyone_has_it() {
        let stats = Stats::new();
        stats.measure_from_us.store(0, Relaxed);
        let key = op_key(1, 1);
        stats.op_sent(key, 10, 2);
        stats.delivered(0, key, 10, 20);
        assert_eq!(stats.pending_ops(), 1);
        stats.delivered(1, key, 10, 35);
        assert_eq!(stats.pending_ops(), 0);
        let all = stats.all_members.summary();
        assert_eq!(all.count, 1);
        assert_eq!(all.max_ms, 0.025);
        assert_eq!(stats.delivery.summary().count, 2);
    }
}
