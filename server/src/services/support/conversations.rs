//! The use cases behind `/api/support/conversations`: a shopper opens their
//! conversation with a store; the customer and the store's staff read it,
//! write in it and mark it read; the staff close and reopen it; either side
//! gives the customer's e-mail or phone.
//!
//! Whoever is neither the conversation's customer nor on its store's staff
//! gets `not_found`, the same answer as for a conversation that does not
//! exist, so that another store's conversations cannot be probed.

use cartroom_protocol::support::{
    ContactRequest, Conversation, ConversationId, ConversationStatus, MAX_CONVERSATIONS_PAGE,
    MAX_MESSAGE_CHARS, MAX_MESSAGES_PAGE, MAX_PHONE_CHARS, MessageKind, SupportMessage,
};
use cartroom_protocol::{ErrorCode, UserId};

use super::{Desk, SupportService};
use crate::catalog::Catalogs;
use crate::refusal::Refusal;
use crate::services::error::Result;
use crate::store::support::{ContactChange, NewConversation, NewMessage, ReadSide};
use crate::text;

/// The conversations one page lists when the request says nothing.
pub const DEFAULT_CONVERSATIONS_PAGE: usize = 50;
/// The furthest a list may be paged.
const MAX_OFFSET: usize = 100_000;
/// The longest e-mail address kept (RFC 5321's path limit).
const MAX_EMAIL_CHARS: usize = 254;

/// Who is asking: the signed-in user.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user: UserId,
    pub name: String,
    /// The account's e-mail; `None` for a guest.
    pub email: Option<String>,
}

/// A page of the store's conversations.
pub struct ListQuery<'a> {
    /// The store; the server's first store when `None`.
    pub store: Option<&'a str>,
    pub status: Option<ConversationStatus>,
    pub offset: usize,
    pub limit: Option<usize>,
}

fn not_found() -> Refusal {
    Refusal::new(
        ErrorCode::NotFound,
        "no such conversation, or not one of your store's",
    )
}

impl SupportService {
    /// The caller's conversation with `store`, opened (and the caller made
    /// the store's customer) when they have none; true when opened.
    pub async fn open(&self, caller: &Caller, store: &str) -> Result<(Conversation, bool)> {
        check_store(&self.desk.deps.catalogs, store)?;
        let opened = self
            .desk
            .deps
            .support
            .open_conversation(NewConversation {
                store_id: store,
                user: caller.user,
                name: &caller.name,
                email: caller.email.as_deref(),
                now_ms: self.desk.deps.clock.now_ms(),
            })
            .await?;
        Ok(opened)
    }

    /// A page of a store's conversations, newest first, for its staff; and
    /// whether more follow.
    pub async fn list(
        &self,
        caller: &Caller,
        query: ListQuery<'_>,
    ) -> Result<(Vec<Conversation>, bool)> {
        let deps = &self.desk.deps;
        let store = match query.store {
            Some(store) => store.to_owned(),
            None => deps.catalogs.default_store().current().store.id.clone(),
        };
        check_store(&deps.catalogs, &store)?;
        if deps.staff.store_role(&store, caller.user).await?.is_none() {
            return Err(Refusal::new(
                ErrorCode::NotFound,
                "no such store, or you are not on its staff",
            )
            .into());
        }
        let limit = check_limit(
            query.limit,
            DEFAULT_CONVERSATIONS_PAGE,
            MAX_CONVERSATIONS_PAGE,
        )?;
        if query.offset > MAX_OFFSET {
            return Err(Refusal::new(
                ErrorCode::InvalidField,
                format!("offset is at most {MAX_OFFSET}"),
            )
            .into());
        }
        let mut page = deps
            .support
            .list_conversations(&store, query.status, query.offset, limit + 1)
            .await?;
        let more = page.len() > limit;
        page.truncate(limit);
        Ok((page, more))
    }

    /// One conversation, for its customer or its store's staff.
    pub async fn get(&self, caller: &Caller, id: ConversationId) -> Result<Conversation> {
        Ok(self.desk.access(caller.user, id).await?.0)
    }

    /// Up to `limit` messages after `after`, oldest first (the customer
    /// sees no tips); and whether more follow.
    pub async fn messages(
        &self,
        caller: &Caller,
        id: ConversationId,
        after: i64,
        limit: Option<usize>,
    ) -> Result<(Vec<SupportMessage>, bool)> {
        let (_, side) = self.desk.access(caller.user, id).await?;
        let limit = check_limit(limit, MAX_MESSAGES_PAGE, MAX_MESSAGES_PAGE)?;
        let tips = side == ReadSide::Agents;
        let mut page = self
            .desk
            .deps
            .support
            .messages(id, after.max(0), limit + 1, tips)
            .await?;
        let more = page.len() > limit;
        page.truncate(limit);
        Ok((page, more))
    }

    /// Writes a message as the customer or as one of the store's staff.
    pub async fn write(
        &self,
        caller: &Caller,
        id: ConversationId,
        text: &str,
    ) -> Result<SupportMessage> {
        let (_, side) = self.desk.access(caller.user, id).await?;
        if text.trim().is_empty() {
            return Err(Refusal::new(ErrorCode::InvalidField, "a message has some text").into());
        }
        text::check_multiline("a message", text, MAX_MESSAGE_CHARS)?;
        let kind = match side {
            ReadSide::Customer => MessageKind::Customer,
            ReadSide::Agents => MessageKind::Agent,
        };
        let posted = self
            .desk
            .post(NewMessage {
                conversation: id,
                kind,
                author: Some(caller.user),
                author_name: &caller.name,
                text,
                cart: None,
                now_ms: self.desk.deps.clock.now_ms(),
            })
            .await?;
        // Only a deletion between the check and the write loses it.
        posted
            .map(|(message, _)| message)
            .ok_or_else(|| not_found().into())
    }

    /// The caller's side has read up to `seq`.
    pub async fn mark_read(
        &self,
        caller: &Caller,
        id: ConversationId,
        seq: i64,
    ) -> Result<Conversation> {
        let (before, side) = self.desk.access(caller.user, id).await?;
        if seq < 0 {
            return Err(Refusal::new(ErrorCode::InvalidField, "seq is 0 or more").into());
        }
        let _turn = self.desk.stripe(id).lock().await;
        let after = self
            .desk
            .deps
            .support
            .mark_read(id, side, seq)
            .await?
            .ok_or_else(not_found)?;
        if after.unread_for_agents != before.unread_for_agents
            || after.unread_for_customer != before.unread_for_customer
        {
            self.desk.announce(&after).await?;
        }
        Ok(after)
    }

    /// Opens or closes the conversation (the store's staff only).
    pub async fn set_status(
        &self,
        caller: &Caller,
        id: ConversationId,
        status: ConversationStatus,
    ) -> Result<Conversation> {
        let (_, side) = self.desk.access(caller.user, id).await?;
        if side != ReadSide::Agents {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "only the store's staff open and close conversations",
            )
            .into());
        }
        let _turn = self.desk.stripe(id).lock().await;
        let before = self
            .desk
            .deps
            .support
            .conversation(id)
            .await?
            .ok_or_else(not_found)?;
        let after = self
            .desk
            .deps
            .support
            .set_status(id, status)
            .await?
            .ok_or_else(not_found)?;
        if after.status != before.status {
            self.desk.announce(&after).await?;
        }
        Ok(after)
    }

    /// Gives (or, with an empty string, forgets) the customer's e-mail or
    /// phone; the customer or the store's staff.
    pub async fn set_contact(
        &self,
        caller: &Caller,
        id: ConversationId,
        request: &ContactRequest,
    ) -> Result<Conversation> {
        self.desk.access(caller.user, id).await?;
        let email = request.email.as_deref().map(str::trim);
        let phone = request.phone.as_deref().map(str::trim);
        if let Some(email) = email.filter(|e| !e.is_empty()) {
            check_email(email)?;
        }
        if let Some(phone) = phone.filter(|p| !p.is_empty()) {
            check_phone(phone)?;
        }
        let email = email.map(str::to_lowercase);
        let change = ContactChange {
            email: email.as_deref().map(|e| Some(e).filter(|e| !e.is_empty())),
            phone: phone.map(|p| Some(p).filter(|p| !p.is_empty())),
        };
        let _turn = self.desk.stripe(id).lock().await;
        let after = self
            .desk
            .deps
            .support
            .set_contact(id, change)
            .await?
            .ok_or_else(not_found)?;
        self.desk.announce(&after).await?;
        Ok(after)
    }
}

impl Desk {
    /// The conversation and the caller's side of it: its customer, or one
    /// of its store's staff; `not_found` for anyone else.
    pub(super) async fn access(
        &self,
        user: UserId,
        id: ConversationId,
    ) -> Result<(Conversation, ReadSide)> {
        let conversation = self
            .deps
            .support
            .conversation(id)
            .await?
            .ok_or_else(not_found)?;
        if conversation.customer.user_id == user {
            return Ok((conversation, ReadSide::Customer));
        }
        if self
            .deps
            .staff
            .store_role(&conversation.store_id, user)
            .await?
            .is_some()
        {
            return Ok((conversation, ReadSide::Agents));
        }
        Err(not_found().into())
    }
}

/// `store_not_found` unless the server has the store.
fn check_store(catalogs: &Catalogs, store: &str) -> Result<(), Refusal> {
    match catalogs.get(store) {
        Some(_) => Ok(()),
        None => Err(Refusal::new(
            ErrorCode::StoreNotFound,
            format!("no store {store:?}"),
        )),
    }
}

fn check_limit(limit: Option<usize>, default: usize, max: usize) -> Result<usize, Refusal> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(Refusal::new(
            ErrorCode::InvalidField,
            format!("limit is 1 to {max}"),
        )),
    }
}

fn check_email(email: &str) -> Result<(), Refusal> {
    text::check_line("an e-mail", email, MAX_EMAIL_CHARS)?;
    let valid = email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.contains(char::is_whitespace);
    if valid {
        return Ok(());
    }
    Err(Refusal::new(
        ErrorCode::InvalidField,
        "an e-mail looks like name@example.com",
    ))
}

fn check_phone(phone: &str) -> Result<(), Refusal> {
    let allowed = |c: char| c.is_ascii_digit() || " +-().".contains(c);
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    if phone.chars().count() <= MAX_PHONE_CHARS && phone.chars().all(allowed) && digits >= 3 {
        return Ok(());
    }
    Err(Refusal::new(
        ErrorCode::InvalidField,
        format!("a phone number is digits, spaces and + - ( ) . (at most {MAX_PHONE_CHARS})"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_checked() {
        assert!(check_email("sam@example.com").is_ok());
        assert!(check_email("sam").is_err());
        assert!(check_email("sam @example.com").is_err());
        assert!(check_phone("+1 (555) 010-0100").is_ok());
        assert!(check_phone("call me").is_err());
        assert!(check_phone(&"1".repeat(MAX_PHONE_CHARS + 1)).is_err());
        assert_eq!(check_limit(None, 50, 100), Ok(50));
        assert!(check_limit(Some(0), 50, 100).is_err());
        assert!(check_limit(Some(101), 50, 100).is_err());
    }
}
