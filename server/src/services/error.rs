//! What a use case answers when it does not succeed.

use crate::refusal::Refusal;
use crate::store::StoreError;

/// A refusal with a stable code, or a failure below it.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;
