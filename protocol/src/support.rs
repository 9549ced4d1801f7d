//! The support desk's conversations (`docs/protocol.md` section 13,
//! "Customers", "Conversations", "Tips"): a shopper talks with a store's
//! agents in one conversation per store, and the agents see the shopper's
//! cart activity in it as tips.
//!
//! A shopper is one [`Customer`] per store. Messages are numbered by `seq`
//! within their conversation; the server stores each one before anybody
//! hears of it and delivers them in `seq` order. A tip
//! ([`MessageKind::Tip`]) is seen by the store's staff only, never counts as
//! unread and never changes the conversation's status.

use serde::{Deserialize, Serialize};

use crate::ids::{CartId, UserId};
pub use crate::ids::{ConversationId, CustomerId};

/// The most characters a message's text may have.
pub const MAX_MESSAGE_CHARS: usize = 2000;
/// The most messages one page of `GET .../messages` holds (and its default).
pub const MAX_MESSAGES_PAGE: usize = 200;
/// The most conversations one page of `GET /api/support/conversations` holds.
pub const MAX_CONVERSATIONS_PAGE: usize = 100;
/// The most characters of a contact's phone number.
pub const MAX_PHONE_CHARS: usize = 32;

/// Whether the store's agents still have something to do in a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Open,
    /// An agent closed it; the customer's next message opens it again.
    Closed,
}

impl ConversationStatus {
    /// The stable string form, as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

/// Who a message is from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// The customer wrote it.
    Customer,
    /// One of the store's staff wrote it.
    Agent,
    /// The server wrote it about the customer's cart activity; only the
    /// store's staff see it.
    Tip,
}

impl MessageKind {
    /// The stable string form, as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Agent => "agent",
            Self::Tip => "tip",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "customer" => Some(Self::Customer),
            "agent" => Some(Self::Agent),
            "tip" => Some(Self::Tip),
            _ => None,
        }
    }
}

/// A shopper as one store knows them: one per store and account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Customer {
    pub id: CustomerId,
    pub store_id: String,
    pub user_id: UserId,
    pub name: String,
    /// The account's e-mail, or the one given in the chat; `null` when
    /// neither is known (a guest who gave none).
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Unix ms.
    pub created_at: i64,
}

/// One message of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SupportMessage {
    /// 1, 2, 3, ... within the conversation; the customer does not see the
    /// numbers of tips.
    pub seq: i64,
    pub kind: MessageKind,
    /// Who wrote it; `null` for a tip.
    pub author_id: Option<UserId>,
    /// The author's name; empty for a tip.
    pub author_name: String,
    pub text: String,
    /// The cart a tip is about; `null` otherwise.
    pub cart_id: Option<CartId>,
    /// Unix ms.
    pub at: i64,
}

/// A conversation between a customer and a store's staff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Conversation {
    pub id: ConversationId,
    pub store_id: String,
    pub customer: Customer,
    pub status: ConversationStatus,
    /// The `seq` of the newest message (tips included); 0 when empty.
    pub last_seq: i64,
    /// The newest message that is not a tip.
    pub last_message: Option<SupportMessage>,
    /// Customer messages after the agents' read mark.
    pub unread_for_agents: i64,
    /// Agent messages after the customer's read mark.
    pub unread_for_customer: i64,
    pub agents_read_seq: i64,
    pub customer_read_seq: i64,
    /// Unix ms.
    pub created_at: i64,
    /// When its newest message that is not a tip was written (or when it
    /// was opened); lists are newest first by this.
    pub updated_at: i64,
}

/// `POST /api/support/conversations`: the shopper opens their
/// conversation with a store (or gets the one they have).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct OpenConversationRequest {
    pub store_id: String,
}

/// `GET /api/support/conversations`: newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ConversationsResponse {
    pub conversations: Vec<Conversation>,
    /// More conversations follow (ask again with a larger `offset`).
    pub more: bool,
}

/// `GET /api/support/conversations/{id}/messages`: oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct MessagesResponse {
    pub messages: Vec<SupportMessage>,
    /// More messages follow (ask again with `after` the last `seq`).
    pub more: bool,
}

/// `POST /api/support/conversations/{id}/messages`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct PostMessageRequest {
    /// 1 to 2,000 characters; may hold line breaks.
    pub text: String,
}

/// `POST /api/support/conversations/{id}/read`: the caller's side has
/// read up to `seq`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    pub seq: i64,
}

/// `POST /api/support/conversations/{id}/status` (staff).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    pub status: ConversationStatus,
}

/// `PUT /api/support/conversations/{id}/contact`: what is absent stays;
/// an empty string forgets it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ContactRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_statuses_round_trip_their_stable_strings() {
        for kind in [MessageKind::Customer, MessageKind::Agent, MessageKind::Tip] {
            assert_eq!(MessageKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json, serde_json::Value::String(kind.as_str().into()));
        }
        for status in [ConversationStatus::Open, ConversationStatus::Closed] {
            assert_eq!(ConversationStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(MessageKind::parse("system"), None);
    }
}
