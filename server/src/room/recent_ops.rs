//! Op ids a cart has applied lately, so that a retry is answered and not
//! applied twice. Bounded: the oldest are forgotten first.

use std::collections::{HashSet, VecDeque};

use cartroom_protocol::{OpId, UserId};

/// An op is identified by who sent it and the id they chose.
pub type OpKey = (UserId, OpId);

/// The last `capacity` op keys of one cart.
#[derive(Debug)]
pub struct RecentOps {
    capacity: usize,
    known: HashSet<OpKey>,
    order: VecDeque<OpKey>,
}

impl RecentOps {
    /// Starts from keys loaded from the store, oldest first.
    pub fn new(capacity: usize, loaded: Vec<OpKey>) -> Self {
        let mut recent = Self {
            capacity,
            known: HashSet::new(),
            order: VecDeque::new(),
        };
        for key in loaded {
            recent.remember(key);
        }
        recent
    }

    pub fn contains(&self, key: &OpKey) -> bool {
        self.known.contains(key)
    }

    pub fn remember(&mut self, key: OpKey) {
        if !self.known.insert(key.clone()) {
            return;
        }
        self.order.push_back(key);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.known.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_are_forgotten_first() {
        let user = UserId::new_random();
        let key = |i: u32| (user, OpId(format!("op-{i}")));
        let mut recent = RecentOps::new(2, vec![key(1)]);
        recent.remember(key(2));
        recent.remember(key(2));
        assert!(recent.contains(&key(1)) && recent.contains(&key(2)));
        recent.remember(key(3));
        assert!(!recent.contains(&key(1)));
        assert!(recent.contains(&key(2)) && recent.contains(&key(3)));
    }
}
