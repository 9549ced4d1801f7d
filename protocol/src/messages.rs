//! The JSON messages of protocol v1, both directions, tagged by `"type"`.

use serde::{Deserialize, Serialize};

use crate::checkout::{Address, SplitPlan};
use crate::codes::ErrorCode;
use crate::ids::{CartId, ConnId, Heads, LineId, OpId, SuggestionId, UserId};

/// A member's role in one cart.
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
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    /// Sees the cart, suggests, votes and chats.
    Viewer,
    /// Also adds, changes and removes lines and notes, accepts suggestions.
    Editor,
    /// Also renames, manages members and shares.
    Admin,
}

impl MemberRole {
    /// The stable string form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Editor => "editor",
            Self::Admin => "admin",
        }
    }

    /// Parses the stable string form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(Self::Viewer),
            "editor" => Some(Self::Editor),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// Something a member may do in a cart. The server sends the list its role
/// allows with `subscribed` and `role_changed`; clients show or hide controls
/// from it rather than from a role table of their own.
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
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// See the cart live, its presence and activity.
    View,
    /// Suggest a product (`suggest`).
    Suggest,
    /// Vote on suggestions (`vote`).
    Vote,
    /// Send chat messages.
    Chat,
    /// Add, change and remove lines; set line and cart notes.
    EditLines,
    /// Move a suggestion into the cart (`accept_suggestion`).
    AcceptSuggestion,
    /// Rename the cart.
    Rename,
    /// Add members, change their roles, remove them.
    ManageMembers,
    /// Delete the cart.
    DeleteCart,
    /// Lock and unlock the cart, set its deadline, budgets, approval
    /// threshold, split plan and addresses; ask for approval; place the order.
    Checkout,
    /// Approve or reject an order waiting for approval.
    Approve,
}

/// Client to server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    /// Join a cart's room. With `heads` (hex change hashes the client already
    /// has), only the missing changes are sent.
    Subscribe {
        cart_id: CartId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        heads: Option<Heads>,
        /// What the subscription sends after each change; `changes` when
        /// absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stream: Option<StreamKind>,
    },
    /// Leave a cart's room.
    Unsubscribe { cart_id: CartId },
    /// An edit intent; answered by `ack` or `error` carrying the same `op_id`.
    Op {
        cart_id: CartId,
        op_id: OpId,
        op: Op,
    },
    /// Tell the room what this connection is doing ("viewing", "checkout", ...).
    Presence {
        cart_id: CartId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<String>,
    },
    /// A chat message to everyone in the cart.
    Chat { cart_id: CartId, text: String },
    /// Liveness probe; answered by `pong` with the same nonce, any JSON
    /// scalar (a string of at most 64 characters).
    Ping {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(test, ts(type = "string | number | boolean | null"))]
        nonce: Option<serde_json::Value>,
    },
}

/// A cart operation, tagged by `"kind"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// Add `quantity` of a product; adds to the existing line of that sku.
    AddLine { sku: String, quantity: i64 },
    /// Change a line's quantity by a signed delta.
    ChangeQuantity { line_id: LineId, delta: i64 },
    /// Set a line's quantity to a value.
    SetQuantity { line_id: LineId, quantity: i64 },
    /// Remove a line.
    RemoveLine { line_id: LineId },
    /// Set (or clear, with "") a line's note.
    SetLineNote { line_id: LineId, note: String },
    /// Set (or clear, with "") the cart's note.
    SetCartNote { note: String },
    /// Suggest a product (any member, viewers included).
    Suggest {
        sku: String,
        quantity: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Vote on a suggestion: 1 for, -1 against, 0 to withdraw one's vote.
    Vote {
        suggestion_id: SuggestionId,
        value: i64,
    },
    /// Move a suggestion into the cart as a line (editor and admin).
    AcceptSuggestion { suggestion_id: SuggestionId },
    /// Turn a suggestion down: it goes, nothing is added (editor and admin).
    RejectSuggestion { suggestion_id: SuggestionId },
    /// Take back one's own suggestion (only its author).
    WithdrawSuggestion { suggestion_id: SuggestionId },
    /// Rename the cart (admin).
    Rename { name: String },
    // Group checkout (docs/protocol.md section 12).
    /// Lock the cart for checkout (admin): line edits are refused.
    Lock,
    /// Unlock a locked, pending or approved cart (admin); drops an approval.
    Unlock,
    /// Lock the cart by itself at `at` (Unix ms); `null` clears it (admin).
    SetDeadline { at: Option<i64> },
    /// Give a member a spending limit; `null` removes it (admin).
    SetBudget {
        user_id: UserId,
        amount: Option<i64>,
    },
    /// Make a member pay for a line; `null` gives it back to who added it (admin).
    AssignLine {
        line_id: LineId,
        user_id: Option<UserId>,
    },
    /// Orders over `amount` need approval; `null` removes the cart's setting (admin).
    SetApprovalThreshold { amount: Option<i64> },
    /// Name the member who may approve or reject besides the admins;
    /// `null` clears it (admin).
    SetApprover { user_id: Option<UserId> },
    /// Ask for approval of a locked cart (admin).
    RequestApproval,
    /// Approve a cart waiting for approval (an admin or the named approver).
    Approve {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// Reject a cart waiting for approval; it goes back to open (an admin
    /// or the named approver).
    Reject { comment: String },
    /// Choose how the total is split among payers (admin).
    SetSplit { plan: SplitPlan },
    /// Add a shipping address; acked with its id in `created` (admin).
    AddAddress { address: Address },
    /// Remove an address and what was shipped to it (admin).
    RemoveAddress { address_id: String },
    /// Ship `quantity` units of a line to an address; 0 ships none (admin).
    SetAllocation {
        address_id: String,
        line_id: LineId,
        quantity: i64,
    },
}

impl Op {
    /// The stable name of the operation, as in its `kind` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::AddLine { .. } => "add_line",
            Self::ChangeQuantity { .. } => "change_quantity",
            Self::SetQuantity { .. } => "set_quantity",
            Self::RemoveLine { .. } => "remove_line",
            Self::SetLineNote { .. } => "set_line_note",
            Self::SetCartNote { .. } => "set_cart_note",
            Self::Suggest { .. } => "suggest",
            Self::Vote { .. } => "vote",
            Self::AcceptSuggestion { .. } => "accept_suggestion",
            Self::RejectSuggestion { .. } => "reject_suggestion",
            Self::WithdrawSuggestion { .. } => "withdraw_suggestion",
            Self::Rename { .. } => "rename",
            Self::Lock => "lock",
            Self::Unlock => "unlock",
            Self::SetDeadline { .. } => "set_deadline",
            Self::SetBudget { .. } => "set_budget",
            Self::AssignLine { .. } => "assign_line",
            Self::SetApprovalThreshold { .. } => "set_approval_threshold",
            Self::SetApprover { .. } => "set_approver",
            Self::RequestApproval => "request_approval",
            Self::Approve { .. } => "approve",
            Self::Reject { .. } => "reject",
            Self::SetSplit { .. } => "set_split",
            Self::AddAddress { .. } => "add_address",
            Self::RemoveAddress { .. } => "remove_address",
            Self::SetAllocation { .. } => "set_allocation",
        }
    }
}

/// What a subscription is sent after each change (`subscribe.stream`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum StreamKind {
    /// A kind-2 binary frame with the change, then an `activity` message.
    #[default]
    Changes,
    /// One kind-3 binary frame with the change and its activity event.
    Compact,
    /// No Automerge: a `view` message, then a `view_patch` per change.
    View,
}

/// A stream's name only: serde's derived enums would also read an object
/// naming one (`{"view":null}`), which `docs/protocol.md` refuses.
impl<'de> Deserialize<'de> for StreamKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        const NAMES: &[&str] = &["changes", "compact", "view"];
        let name = String::deserialize(deserializer)?;
        match name.as_str() {
            "changes" => Ok(Self::Changes),
            "compact" => Ok(Self::Compact),
            "view" => Ok(Self::View),
            other => Err(serde::de::Error::unknown_variant(other, NAMES)),
        }
    }
}

/// What follows a `subscribed` message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SyncPayload {
    /// A binary frame with a whole saved document (`Automerge.load`).
    Document,
    /// A binary frame with only the changes missing after the client's
    /// heads (`Automerge.loadIncremental`); may be empty.
    Changes,
    /// A `view` message (the `view` stream).
    View,
}

/// Who is in a cart's room right now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PresenceEntry {
    pub user_id: UserId,
    pub name: String,
    pub role: MemberRole,
    /// Open connections of this user subscribed to the cart.
    pub connections: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// One entry of a cart's activity feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ActivityEvent {
    /// Increasing per cart.
    pub seq: i64,
    /// Unix time in milliseconds.
    pub at: i64,
    pub user_id: UserId,
    pub user_name: String,
    /// The op kind (`add_line`, ...), or `chat`, `member_added`, ...
    pub kind: String,
    /// A sentence for people: "Ana added Blue Mug*2. Subtotal $24.00".
    pub text: String,
    /// Cart subtotal after this event, in minor units.
    pub subtotal: i64,
    pub currency: String,
}

/// Server to client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// First message on every connection.
    Hello {
        /// The protocol version this connection speaks.
        protocol: u32,
        /// The server's name and version, e.g. `cartroom/0.1.0`.
        server: String,
        /// Optional behaviours this server has, by name (see
        /// `docs/protocol.md`, "Versions"); unknown names are to be ignored.
        features: Vec<String>,
        conn_id: ConnId,
        user_id: UserId,
        name: String,
    },
    /// The subscription is live. The next binary frame for this cart (the
    /// next `view` message, for the view stream) carries the `payload`.
    Subscribed {
        cart_id: CartId,
        role: MemberRole,
        /// What this role allows, in this order of the enum.
        capabilities: Vec<Capability>,
        payload: SyncPayload,
        /// The document's heads after the payload is applied.
        heads: Heads,
        presence: Vec<PresenceEntry>,
        /// The most recent activity, oldest first.
        activity: Vec<ActivityEvent>,
    },
    /// The subscription ended: `requested`, `removed` (no longer a member),
    /// `deleted` (the cart is gone) or `unavailable` (retry later).
    Unsubscribed { cart_id: CartId, reason: String },
    /// The op was accepted and is durable. Its change was sent just before as
    /// a binary frame.
    Ack {
        cart_id: CartId,
        op_id: OpId,
        /// The document's heads right after this op's change.
        heads: Heads,
        /// True when this answers a retry of an op already applied.
        duplicate: bool,
        /// The id of what the op created (a suggestion's id), on the first
        /// ack only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        created: Option<String>,
    },
    /// A refusal; nothing was changed.
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cart_id: Option<CartId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        op_id: Option<OpId>,
    },
    /// Something happened in the cart.
    Activity {
        cart_id: CartId,
        event: ActivityEvent,
    },
    /// The whole view of the cart, right after `subscribed` on the view
    /// stream; `view_patch` messages then keep it current.
    View {
        cart_id: CartId,
        /// The document's heads this view shows.
        heads: Heads,
        view: Box<crate::http::CartView>,
    },
    /// A change on the view stream: the RFC 6902 operations that turn the
    /// previous view into the new one, and the change's activity event.
    ViewPatch {
        cart_id: CartId,
        /// The document's heads right after this change.
        heads: Heads,
        #[cfg_attr(
            test,
            ts(
                type = "Array<{ op: \"add\" | \"replace\" | \"test\", path: string, value: unknown } | { op: \"remove\", path: string } | { op: \"move\" | \"copy\", from: string, path: string }>"
            )
        )]
        patch: json_patch::Patch,
        activity: ActivityEvent,
    },
    /// The cart's document restarted from its current state as epoch
    /// `epoch` (its history archived). The next binary frame for this cart
    /// is the new document: it replaces the replica. Not sent on the view
    /// stream (the view did not change).
    Epoch {
        cart_id: CartId,
        epoch: i64,
        /// The new document's heads.
        heads: Heads,
    },
    /// Some users' presence changed: each entry replaces that user's entry in
    /// the list `subscribed` gave; `connections: 0` means the user left.
    Presence {
        cart_id: CartId,
        members: Vec<PresenceEntry>,
    },
    /// A chat message.
    Chat {
        cart_id: CartId,
        /// The `seq` of the chat's entry in the cart's activity feed.
        seq: i64,
        user_id: UserId,
        user_name: String,
        text: String,
        at: i64,
    },
    /// This user's role in the cart changed; it applies from now on.
    RoleChanged {
        cart_id: CartId,
        role: MemberRole,
        capabilities: Vec<Capability>,
    },
    /// This user's list of carts changed: they became a member of
    /// `cart_id`, their role in it changed, or they stopped being one. Sent
    /// on every connection of the user, subscribed to that cart or not.
    CartsChanged { cart_id: CartId },
    /// An agent asks to take over the shopper's cart; to the shopper's and
    /// the agent's connections. The shopper answers over HTTP.
    TakeoverRequested {
        takeover: Box<crate::takeover::Takeover>,
    },
    /// A takeover became active: the agent now edits the cart as
    /// `"<name> (support)"`; to the shopper's and the agent's connections.
    TakeoverStarted {
        takeover: Box<crate::takeover::Takeover>,
    },
    /// A takeover ended or was declined: the agent's edit rights are gone;
    /// to the shopper's and the agent's connections.
    TakeoverEnded {
        takeover: Box<crate::takeover::Takeover>,
    },
    /// A message of a support conversation, once it is stored: to the
    /// customer's connections (never a tip) and to every connection of the
    /// store's staff.
    SupportMessage {
        conversation_id: crate::ids::ConversationId,
        message: Box<crate::support::SupportMessage>,
    },
    /// A support conversation's status or unread counts changed; to the
    /// customer's connections and to every connection of the store's staff.
    SupportConversation {
        conversation: Box<crate::support::Conversation>,
    },
    /// Answer to `ping`.
    Pong {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(test, ts(type = "string | number | boolean | null"))]
        nonce: Option<serde_json::Value>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_message_round_trips_in_documented_shape() {
        let text = r#"{"type":"op","cart_id":"5f0c6f0e-0b7a-4e59-9a4e-2d8d6c1f7a10","op_id":"c1-7","op":{"kind":"add_line","sku":"MUG-BLUE","quantity":2}}"#;
        let msg: ClientMsg = serde_json::from_str(text).unwrap();
        let ClientMsg::Op { op, op_id, .. } = &msg else {
            panic!("not an op: {msg:?}");
        };
        assert_eq!(op_id.0, "c1-7");
        assert_eq!(
            op,
            &Op::AddLine {
                sku: "MUG-BLUE".into(),
                quantity: 2
            }
        );
        assert_eq!(serde_json::to_string(&msg).unwrap(), text);
    }

    #[test]
    fn unknown_fields_and_types_are_rejected() {
        assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"ping","extra":1}"#).is_err());
        assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"explode"}"#).is_err());
    }

    #[test]
    fn a_stream_is_a_name_and_nothing_else() {
        let subscribe = |stream: &str| {
            let text = format!(
                r#"{{"type":"subscribe","cart_id":"5f0c6f0e-0b7a-4e59-9a4e-2d8d6c1f7a10","stream":{stream}}}"#
            );
            match serde_json::from_str::<ClientMsg>(&text) {
                Ok(ClientMsg::Subscribe { stream, .. }) => Ok(stream),
                Ok(other) => panic!("not a subscribe: {other:?}"),
                Err(e) => Err(e),
            }
        };
        assert_eq!(subscribe(r#""view""#).unwrap(), Some(StreamKind::View));
        assert_eq!(subscribe("null").unwrap(), None);
        for refused in [r#"{"view":null}"#, r#""View""#, "1", r#"["view"]"#] {
            assert!(subscribe(refused).is_err(), "{refused} was taken");
        }
        assert_eq!(
            serde_json::to_string(&StreamKind::Compact).unwrap(),
            r#""compact""#
        );
    }

    #[test]
    fn error_code_serializes_as_its_stable_string() {
        let msg = ServerMsg::Error {
            code: ErrorCode::UnknownSku,
            message: "no such product".into(),
            cart_id: None,
            op_id: None,
        };
        let json = serde_json::to_value(&msg).unwrap();
        assert_eq!(json["code"], ErrorCode::UnknownSku.as_str());
    }

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(MemberRole::Viewer < MemberRole::Editor);
        assert!(MemberRole::Editor < MemberRole::Admin);
        for role in [MemberRole::Viewer, MemberRole::Editor, MemberRole::Admin] {
            assert_eq!(MemberRole::parse(role.as_str()), Some(role));
        }
    }
}
