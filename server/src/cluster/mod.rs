//! Many nodes on one Postgres database: each cart's room runs on one node
//! at a time, under a lease ([`leases`]). With NATS ([`bus`]), a client may
//! use any node: a node relays a cart owned elsewhere ([`relay`]) to the
//! owner's room ([`inbox`], [`remote`]), in the messages of [`wire`], and
//! moves its subscribers to the next owner when the owner is gone
//! ([`nodes`]).

pub mod bus;
pub mod inbox;
pub mod leases;
pub mod nodes;
pub mod relay;
pub mod remote;
pub mod wire;

pub use bus::Bus;
pub use leases::{Lease, LeaseKeeper, LeaseSettings};
