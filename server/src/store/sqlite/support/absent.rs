//! Who is known to have no conversation with a store.
//!
//! Every cart edit made online asks whether its editor has a conversation
//! with the cart's store (`services::support::tips`), and the answer is
//! nearly always no: a read from the pool per edit, two thread hand-offs
//! and ~160 µs of CPU, as much as the edit's own commit. Kept here, it
//! costs none after the first. Only this store opens conversations in its
//! database (one node per SQLite file) and never deletes one, and it
//! forgets a user here as it opens theirs, so this never says "none"
//! wrongly. Only the absence is kept: a conversation's status and counts
//! change, and are read each time.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use cartroom_protocol::UserId;

/// The most users × stores kept (~100 bytes each); past it, all is
/// forgotten and asked again.
const CAPACITY: usize = 65_536;

#[derive(Default)]
pub(in crate::store::sqlite) struct NoConversation(Mutex<Absent>);

#[derive(Default)]
struct Absent {
    /// The stores each user is known to have no conversation with: keyed
    /// by user, so that a lookup borrows the store's id instead of copying it.
    known: HashMap<UserId, HashSet<String>>,
    /// Users × stores in `known`.
    len: usize,
    /// Conversations opened so far. A lookup that read the database before
    /// one was opened may have missed it, and must not say "none" after.
    opened: u64,
}

/// Taken before reading the database; see [`NoConversation::remember`].
#[derive(Clone, Copy)]
pub(super) struct Ticket(u64);

impl NoConversation {
    /// Nothing awaits under this lock.
    fn lock(&self) -> MutexGuard<'_, Absent> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True when `user` is known to have no conversation with `store`.
    pub(super) fn knows_none(&self, store: &str, user: UserId) -> bool {
        self.lock()
            .known
            .get(&user)
            .is_some_and(|stores| stores.contains(store))
    }

    pub(super) fn ticket(&self) -> Ticket {
        Ticket(self.lock().opened)
    }

    /// Remembers that the database, read after `ticket` was taken, had no
    /// conversation of `user` with `store`; unless one was opened since.
    pub(super) fn remember(&self, store: &str, user: UserId, ticket: Ticket) {
        let mut absent = self.lock();
        if absent.opened != ticket.0 {
            return;
        }
        if absent.len >= CAPACITY {
            absent.known.clear();
            absent.len = 0;
        }
        if absent
            .known
            .entry(user)
            .or_default()
            .insert(store.to_owned())
        {
            absent.len += 1;
        }
    }

    /// Called once a conversation is committed.
    pub(super) fn opened(&self, store: &str, user: UserId) {
        let mut absent = self.lock();
        absent.opened += 1;
        let Some(stores) = absent.known.get_mut(&user) else {
            return;
        };
        let forgotten = stores.remove(store);
        if stores.is_empty() {
            absent.known.remove(&user);
        }
        absent.len -= usize::from(forgotten);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opened_conversation_is_forgotten_as_absent() {
        let absent = NoConversation::default();
        let sam = UserId::new_random();
        absent.remember("s1", sam, absent.ticket());
        assert!(absent.knows_none("s1", sam));
        assert!(!absent.knows_none("s2", sam));
        absent.remember("s2", sam, absent.ticket());
        absent.opened("s1", sam);
        assert!(!absent.knows_none("s1", sam));
        assert!(absent.knows_none("s2", sam));
        absent.opened("s2", sam);
        let left = absent.lock();
        assert_eq!((left.known.len(), left.len), (0, 0));
    }

    #[test]
    fn a_lookup_that_began_before_an_open_remembers_nothing() {
        let absent = NoConversation::default();
        let (sam, ana) = (UserId::new_random(), UserId::new_random());
        let ticket = absent.ticket();
        // Ana's conversation opens while Sam's lookup reads the database.
        absent.opened("s1", ana);
        absent.remember("s1", sam, ticket);
        assert!(!absent.knows_none("s1", sam));
        absent.remember("s1", sam, absent.ticket());
        assert!(absent.knows_none("s1", sam));
    }

    #[test]
    fn past_its_capacity_it_starts_again() {
        let absent = NoConversation::default();
        let first = UserId::new_random();
        absent.remember("s1", first, absent.ticket());
        for _ in 1..CAPACITY {
            absent.remember("s1", UserId::new_random(), absent.ticket());
        }
        assert!(absent.knows_none("s1", first));
        absent.remember("s1", UserId::new_random(), absent.ticket());
        assert!(!absent.knows_none("s1", first));
        let left = absent.lock();
        assert_eq!((left.known.len(), left.len), (1, 1));
    }
}
