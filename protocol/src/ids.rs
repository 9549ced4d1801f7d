//! Newtype ids, so that a cart id is never passed where a user id is meant.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::limits::MAX_OP_ID_LEN;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[cfg_attr(test, derive(ts_rs::TS))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh random id.
            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A cart (one Automerge document, one room).
    CartId
);
uuid_id!(
    /// A user account, guest or registered.
    UserId
);
uuid_id!(
    /// An invitation by e-mail to one cart.
    InvitationId
);
uuid_id!(
    /// A share link of one cart.
    LinkId
);
uuid_id!(
    /// A cart the store's staff sent to a customer (a merchant share).
    OfferId
);
uuid_id!(
    /// A cart a shopper shared with the store.
    StoreShareId
);
uuid_id!(
    /// A shopper as one store knows them (support desk).
    CustomerId
);
uuid_id!(
    /// A conversation between a customer and a store's staff.
    ConversationId
);
uuid_id!(
    /// An agent's takeover of a shopper's cart (support desk).
    TakeoverId
);

/// A line of a cart. Lines are keyed by the product's sku, so that two people
/// adding the same product land on the same line and their quantities add up.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(transparent)]
pub struct LineId(pub String);

/// A suggestion inside a cart, chosen by the server.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(transparent)]
pub struct SuggestionId(pub String);

/// A client-chosen id for an operation; a retry with the same id is answered
/// from the first result and never applied twice.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(transparent)]
pub struct OpId(pub String);

impl OpId {
    /// Whether the id respects the documented bound (1..=64 printable ASCII).
    pub fn is_valid(&self) -> bool {
        !self.0.is_empty()
            && self.0.len() <= MAX_OP_ID_LEN
            && self.0.bytes().all(|b| b.is_ascii_graphic())
    }
}

/// One WebSocket connection on one server, as announced in `hello`.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(transparent)]
pub struct ConnId(pub u64);

/// A document's heads: the hex hashes of the changes no other change
/// depends on. Two replicas with equal heads hold the same document.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(transparent)]
pub struct Heads(pub Vec<String>);

impl Heads {
    /// The hashes, in the order they were given.
    pub fn iter(&self) -> std::slice::Iter<'_, String> {
        self.0.iter()
    }

    /// The same heads sorted, for comparing two sets.
    pub fn sorted(&self) -> Self {
        let mut heads = self.0.clone();
        heads.sort();
        Self(heads)
    }
}

impl<'a> IntoIterator for &'a Heads {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for LineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for SuggestionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
