//! Endpoint secrets and the signature of each delivery:
//! `v1=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`, keyed with the
//! whole secret string as it was shown (`whsec_...`).

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// A fresh secret: `whsec_` and 24 random bytes in hex.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", hex::encode(bytes))
}

/// The `Cartroom-Webhook-Signature` header of `body` sent at `timestamp`
/// (Unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_timestamp_dot_body() {
        // Python: hmac.new(b"whsec_test", b"1700000000.{}", hashlib.sha256).hexdigest()
        assert_eq!(
            signature("whsec_test", 1_700_000_000, b"{}"),
            "v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
        let secret = new_secret();
        assert!(secret.starts_with("whsec_") && secret.len() == 6 + 48);
    }
}
