//! Which nodes are alive: each node says so on NATS every `beat`, and a
//! node not heard for `gone_after` is gone. An owner then drops the gone
//! node's subscribers from its rooms (no zombie presence), and a relay
//! whose owner is gone takes the cart over once the lease lapses.

use std::time::Duration;

use dashmap::DashMap;
use tokio::sync::broadcast;
use tokio::time::Instant;

/// Heartbeats heard, by node name.
pub struct Nodes {
    /// This node, always alive to itself.
    me: String,
    /// When each node was last heard, and whether it was said gone since.
    heard: DashMap<String, (Instant, bool)>,
    gone_after: Duration,
    /// Tells owners and relays of each node found gone.
    gone: broadcast::Sender<String>,
}

/// How often a node says it is alive, and how long a silent one is alive.
#[derive(Clone, Copy, Debug)]
pub struct Liveness {
    pub beat: Duration,
    pub gone_after: Duration,
}

impl Liveness {
    /// Beats six times per lease and gone after half a lease: a relay knows
    /// its owner is gone before the owner's leases lapse.
    pub fn for_lease(ttl: Duration) -> Self {
        Self {
            beat: ttl / 6,
            gone_after: ttl / 2,
        }
    }
}

impl Nodes {
    pub fn new(me: String, liveness: Liveness) -> Self {
        Self {
            me,
            heard: DashMap::new(),
            gone_after: liveness.gone_after,
            gone: broadcast::channel(64).0,
        }
    }

    pub fn me(&self) -> &str {
        &self.me
    }

    /// A heartbeat of `node`.
    pub fn heard(&self, node: &str) {
        if node != self.me {
            self.heard.insert(node.to_owned(), (Instant::now(), false));
        }
    }

    /// Counts on `node` from now (a cart's owner, a relaying node): if it
    /// never beats, it is gone after `gone_after` like one that stopped.
    pub fn expect(&self, node: &str) {
        if node != self.me {
            self.heard
                .entry(node.to_owned())
                .or_insert_with(|| (Instant::now(), false));
        }
    }

    /// Whether `node` may be alive: heard lately, or never heard (a node
    /// that just started, or this one has; asking it says).
    pub fn may_be_alive(&self, node: &str) -> bool {
        node == self.me
            || self
                .heard
                .get(node)
                .is_none_or(|heard| heard.0.elapsed() < self.gone_after)
    }

    /// Says once which nodes were not heard for `gone_after`.
    pub fn sweep(&self) {
        let mut gone = Vec::new();
        for mut heard in self.heard.iter_mut() {
            let (at, said) = *heard.value();
            if !said && at.elapsed() >= self.gone_after {
                heard.value_mut().1 = true;
                gone.push(heard.key().clone());
            }
        }
        for node in gone {
            tracing::warn!(node, "node gone: no heartbeat");
            metrics::counter!("cartroom_nodes_gone_total").increment(1);
            let _ = self.gone.send(node);
        }
    }

    /// Names of the nodes found gone from now on.
    pub fn watch_gone(&self) -> broadcast::Receiver<String> {
        self.gone.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_node_is_gone_once_silent_for_long_enough() {
        let nodes = Nodes::new("a".into(), Liveness::for_lease(Duration::from_millis(600)));
        let mut gone = nodes.watch_gone();
        assert!(nodes.may_be_alive("b"), "never heard: ask it");
        nodes.heard("b");
        tokio::time::advance(Duration::from_millis(200)).await;
        nodes.sweep();
        assert!(nodes.may_be_alive("b"));
        assert!(gone.try_recv().is_err());
        tokio::time::advance(Duration::from_millis(200)).await;
        assert!(!nodes.may_be_alive("b"));
        nodes.sweep();
        assert_eq!(gone.try_recv().unwrap(), "b");
        nodes.sweep();
        assert!(gone.try_recv().is_err(), "said once");
        assert!(!nodes.may_be_alive("b"), "still gone");
        assert!(nodes.may_be_alive("a"), "a node is alive to itself");

        // A node counted on but never heard is gone like a silent one.
        nodes.expect("c");
        tokio::time::advance(Duration::from_millis(200)).await;
        nodes.heard("b");
        assert!(nodes.may_be_alive("b"), "back");
        tokio::time::advance(Duration::from_millis(100)).await;
        nodes.sweep();
        assert_eq!(gone.try_recv().unwrap(), "c");
        assert!(gone.try_recv().is_err(), "b beats again");
    }
}
