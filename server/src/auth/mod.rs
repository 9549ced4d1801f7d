//! Secrets: argon2id password hashes, and opaque random session tokens
//! stored only as their SHA-256.

pub mod password;
pub mod purpose;
pub mod token;
