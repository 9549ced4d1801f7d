//! Tokens that people receive by e-mail or in a link (invitations, share
//! links, password resets): 32 random bytes like a session token, stored
//! only as the SHA-256 of the token behind a purpose prefix, so that a token
//! made for one purpose never matches a hash stored for another (a share
//! link's token is no password-reset token, and neither is a session).
//!
//! The server looks a token up by its hash; comparing hashes leaks nothing
//! useful about the token, so no comparison of secrets depends on timing.

use sha2::{Digest, Sha256};

pub use super::token::new_token;

/// What a token may be used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Joining a cart: an invitation's e-mail or a share link.
    Join,
    /// Setting a new password once.
    PasswordReset,
    /// Taking a cart the store's staff sent (live or as a copy).
    Offer,
}

impl Purpose {
    fn prefix(self) -> &'static [u8] {
        match self {
            Self::Join => b"cartroom-join\0",
            Self::PasswordReset => b"cartroom-password-reset\0",
            Self::Offer => b"cartroom-offer\0",
        }
    }
}

/// What is stored for a token of `purpose` (hex SHA-256).
pub fn purpose_hash(purpose: Purpose, token: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(purpose.prefix());
    hasher.update(token.as_bytes());
    hex::encode(hasher.finalize())
}

/// Whether `token` looks like one the server makes (43 base64url
/// characters); anything else is not looked up at all.
pub fn well_formed(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::token::token_hash;

    #[test]
    fn a_token_s_hash_depends_on_its_purpose() {
        let token = new_token();
        assert!(well_formed(&token));
        let join = purpose_hash(Purpose::Join, &token);
        let reset = purpose_hash(Purpose::PasswordReset, &token);
        assert_ne!(join, reset);
        assert_ne!(join, token_hash(&token), "no session has this hash");
        assert_eq!(join.len(), 64);
        assert!(!join.contains(&token));
        assert!(!well_formed("short"));
        assert!(!well_formed(&format!("{}=", &token[..42])));
    }
}
