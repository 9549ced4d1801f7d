//! Password hashing with argon2id, off the async threads and bounded.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Password hashes computed at once. Each argon2id hash takes 19 MiB and a
/// core for ~35 ms, so a burst of sign-ups must queue, not pile up threads
/// and memory.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Hashing could not run.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashingFailed;

/// Hashes a password with argon2id on a blocking thread (it is slow on purpose).
pub async fn hash_password(password: String) -> Result<String, HashingFailed> {
    let _permit = HASHING.acquire().await.map_err(|_| HashingFailed)?;
    tokio::task::spawn_blocking(move || {
        let salt =
            SaltString::encode_b64(&rand::random::<[u8; 16]>()).expect("16 bytes is a valid salt");
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|_| HashingFailed)?
    .map_err(|_| HashingFailed)
}

/// Checks a password against its stored hash on a blocking thread.
pub async fn verify_password(password: String, hash: String) -> bool {
    let Ok(_permit) = HASHING.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn password_hashes_verify_only_the_right_password() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), hash.clone()).await);
        assert!(!verify_password("wrong horse".into(), hash).await);
    }
}
