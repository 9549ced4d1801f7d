//! Stable error codes (sent in `error` frames and HTTP error bodies) and
//! WebSocket close codes. Never renumber or rename one: clients match on them.

use serde::{Deserialize, Serialize};

/// Why a request was refused. The string form (`snake_case`) is the stable code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The text frame is not valid JSON or not a known message shape.
    BadMessage,
    /// A field breaks a documented bound (length, range, count).
    InvalidField,
    /// The connection sent faster than its rate limit; the message was dropped.
    RateLimited,
    /// No valid session.
    Unauthorized,
    /// The user's role does not allow this action.
    Forbidden,
    /// The cart does not exist, or the user is not a member.
    CartNotFound,
    /// The message names a cart the connection has not subscribed to.
    NotSubscribed,
    /// Too many subscriptions on this connection.
    TooManySubscriptions,
    /// The sku is not in the store's catalog.
    UnknownSku,
    /// No store has this id.
    StoreNotFound,
    /// The line does not exist (never added, or removed).
    LineNotFound,
    /// The suggestion does not exist.
    SuggestionNotFound,
    /// The resulting quantity would leave 1..=999.
    QuantityOutOfRange,
    /// The cart already has the maximum number of lines (or suggestions).
    CartFull,
    /// Not enough stock for the requested quantity.
    OutOfStock,
    /// The e-mail is already registered.
    EmailTaken,
    /// Wrong e-mail or password.
    BadCredentials,
    /// The user named by e-mail does not exist.
    UserNotFound,
    /// The operation would leave the cart without an admin.
    LastAdmin,
    /// The cart is unavailable for a moment (storage failure, shutting down).
    Unavailable,
    /// An unexpected server fault; the request was not applied.
    Internal,
    /// No such HTTP resource (an unknown `/api/...` path).
    NotFound,
    /// The HTTP resource exists but not with this method.
    MethodNotAllowed,
    /// An HTTP request body over [`crate::limits::MAX_FRAME_BYTES`].
    PayloadTooLarge,
    /// A count limit is reached (carts one user may create, members of a
    /// cart, ...); nothing was added.
    TooMany,
    /// The person is already a member of the cart; nothing was changed
    /// (change a role with `PATCH .../members/{user_id}`).
    AlreadyMember,
    /// No invitation or share link has this token (never had, or a newer
    /// e-mail of the invitation replaced it).
    InviteNotFound,
    /// The invitation or share link has expired.
    InviteExpired,
    /// An admin of the cart revoked the invitation or share link.
    InviteRevoked,
    /// The invitation was already answered (accepted by someone else, or
    /// declined), or the share link has no uses left.
    InviteUsedUp,
    /// The cart's phase does not allow this edit: it is locked for checkout,
    /// waiting for approval, approved or ordered (suggestions and chat go on
    /// while it is locked).
    CartLocked,
    /// The edit would take a member's share over their budget; the message
    /// says how much is left.
    OverBudget,
    /// A checkout step out of turn: unlocking an open cart, approving one
    /// nobody asked about, an order status that cannot follow the current one.
    WrongPhase,
    /// The order's total is over the approval threshold and the cart is not
    /// approved.
    ApprovalRequired,
    /// The cart has shipping addresses and some units of its lines are not
    /// shipped to any of them (or more than the line holds are).
    UnassignedQuantity,
    /// Prices changed since the buyer saw the total; the message has the new
    /// total, which the buyer confirms by sending it.
    PriceChanged,
    /// The split plan does not fit the total (custom amounts over it, a
    /// payer who is not a member, nobody to split among).
    SplitInvalid,
    /// No such order, or not one the caller may see.
    OrderNotFound,
    /// The account is already on the store's staff; nothing was changed.
    AlreadyStaff,
    /// The change would leave the store without an owner.
    LastOwner,
    /// The password is right and the account has two-factor sign-in on:
    /// send it again with `code` or `recovery_code`. No session was started.
    TotpRequired,
    /// The authenticator code or recovery code is wrong (or the recovery
    /// code was used already).
    TotpInvalid,
    /// The authenticator code is right but its 30-second time step was
    /// used already (a replay); wait for the next code.
    TotpReplayed,
    /// Two-factor sign-in is on already (enrol) or not on (disable), or
    /// there is no pending enrolment to confirm.
    TotpState,
    /// No help code like this one is waiting (wrong digits, used already,
    /// or for a cart of a store the agent does not work for).
    HelpCodeInvalid,
    /// The help code was right but its 10 minutes are over: ask the
    /// shopper for a new one.
    HelpCodeExpired,
    /// The cart has a takeover requested or active already.
    TakeoverInProgress,
    /// The takeover is not in a state that allows this (answered already,
    /// ended, declined).
    TakeoverState,
    /// The `Idempotency-Key` was used already with another request (another
    /// method, path or body) within the last day.
    IdempotencyConflict,
}

impl ErrorCode {
    /// The stable string form, as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadMessage => "bad_message",
            Self::InvalidField => "invalid_field",
            Self::RateLimited => "rate_limited",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::CartNotFound => "cart_not_found",
            Self::NotSubscribed => "not_subscribed",
            Self::TooManySubscriptions => "too_many_subscriptions",
            Self::UnknownSku => "unknown_sku",
            Self::StoreNotFound => "store_not_found",
            Self::LineNotFound => "line_not_found",
            Self::SuggestionNotFound => "suggestion_not_found",
            Self::QuantityOutOfRange => "quantity_out_of_range",
            Self::CartFull => "cart_full",
            Self::OutOfStock => "out_of_stock",
            Self::EmailTaken => "email_taken",
            Self::BadCredentials => "bad_credentials",
            Self::UserNotFound => "user_not_found",
            Self::LastAdmin => "last_admin",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::TooMany => "too_many",
            Self::AlreadyMember => "already_member",
            Self::InviteNotFound => "invite_not_found",
            Self::InviteExpired => "invite_expired",
            Self::InviteRevoked => "invite_revoked",
            Self::InviteUsedUp => "invite_used_up",
            Self::CartLocked => "cart_locked",
            Self::OverBudget => "over_budget",
            Self::WrongPhase => "wrong_phase",
            Self::ApprovalRequired => "approval_required",
            Self::UnassignedQuantity => "unassigned_quantity",
            Self::PriceChanged => "price_changed",
            Self::SplitInvalid => "split_invalid",
            Self::OrderNotFound => "order_not_found",
            Self::AlreadyStaff => "already_staff",
            Self::LastOwner => "last_owner",
            Self::TotpRequired => "totp_required",
            Self::TotpInvalid => "totp_invalid",
            Self::TotpReplayed => "totp_replayed",
            Self::TotpState => "totp_state",
            Self::HelpCodeInvalid => "help_code_invalid",
            Self::HelpCodeExpired => "help_code_expired",
            Self::TakeoverInProgress => "takeover_in_progress",
            Self::TakeoverState => "takeover_state",
            Self::IdempotencyConflict => "idempotency_conflict",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// WebSocket close codes the server sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum CloseCode {
    /// Normal close.
    Normal = 1000,
    /// The server is shutting down; reconnect (elsewhere, or later).
    GoingAway = 1001,
    /// A binary frame from the client (v1 clients send JSON only), or a
    /// frame that breaks the WebSocket protocol.
    ProtocolError = 1002,
    /// A text frame that is not UTF-8.
    InvalidPayload = 1007,
    /// A message over [`crate::limits::MAX_FRAME_BYTES`].
    MessageTooBig = 1009,
    /// The session expired or was signed out while connected.
    SessionEnded = 4001,
    /// The client did not answer pings in time.
    Timeout = 4002,
    /// The client could not keep up with the carts it watches; its outbound
    /// queue filled. Reconnect and resubscribe with heads to catch up.
    SlowConsumer = 4008,
    /// The client kept sending over its rate limit.
    RateLimitExceeded = 4029,
}

impl CloseCode {
    /// The numeric close code.
    pub fn code(self) -> u16 {
        self as u16
    }
}
