//! Many nodes on one Postgres database: each cart's room runs on one node
//! at a time, under a lease ([`leases`]).

pub mod leases;

pub use leases::{Lease, LeaseKeeper, LeaseSettings};
