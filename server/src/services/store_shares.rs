//! Customers share a cart with the store: when the store's setting allows
//! it, a shopper (a guest too) gives a name, an e-mail and a message; every
//! member of the store's staff gets an e-mail (through the outbox, in the
//! transaction of the share) and sees it in the "shared with us" list, and
//! opens the cart live as an editor to help fill or review it. A share has
//! no expiry.

use std::sync::Arc;

use cartroom_protocol::sharing::MAX_INVITE_MESSAGE_CHARS;
use cartroom_protocol::store::{OpenSharedResponse, StoreRole, StoreShare, StoreShareId};
use cartroom_protocol::store::{StoreSettings, StoreShareRequest};
use cartroom_protocol::{CartId, ErrorCode, UserId};

use super::accounts::valid_email;
use super::error::Result;
use super::feed::Feed;
use super::members::MAX_MEMBERS;
use crate::cart::Actor;
use crate::catalog::Catalogs;
use crate::clock::Clock;
use crate::mail::MailQueue;
use crate::mail::offer::{StoreShareMail, store_share as store_share_mail};
use crate::refusal::Refusal;
use crate::store::sharing::{JoinError, MailPurpose, NewMail};
use crate::store::store_shares::NewStoreShare;
use crate::store::{Carts, Sharing, StoreShares, StoreStaff};
use crate::text;

/// Longest name a shopper gives, in characters.
pub const MAX_SHARE_NAME_CHARS: usize = 60;

/// What the service is built from.
pub struct StoreShareDeps {
    pub shares: Arc<dyn StoreShares>,
    pub staff: Arc<dyn StoreStaff>,
    /// For the cart's name.
    pub sharing: Arc<dyn Sharing>,
    /// For the store of a shared cart.
    pub carts: Arc<dyn Carts>,
    pub feed: Feed,
    pub catalogs: Catalogs,
    pub clock: Arc<dyn Clock>,
    pub mail: MailQueue,
}

/// Carts shared with the store.
pub struct StoreShareService {
    deps: StoreShareDeps,
}

impl StoreShareService {
    pub fn new(deps: StoreShareDeps) -> Self {
        Self { deps }
    }

    async fn role_of(&self, store: &str, user: UserId) -> Result<Option<StoreRole>> {
        Ok(self
            .deps
            .staff
            .store_role(store, user)
            .await?
            .map(|access| access.role))
    }

    /// What the store allows.
    pub async fn settings(&self, store: &str) -> Result<StoreSettings> {
        Ok(self.deps.shares.settings(store).await?)
    }

    /// Changes the settings (owners only).
    pub async fn set_settings(
        &self,
        store: &str,
        caller: UserId,
        settings: StoreSettings,
    ) -> Result<StoreSettings> {
        if self.role_of(store, caller).await? != Some(StoreRole::Owner) {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "only the store's owners change its settings",
            )
            .into());
        }
        self.deps.shares.set_settings(store, &settings).await?;
        self.settings(store).await
    }

    /// Shares the cart with its store (the caller is an admin of it).
    pub async fn share(
        &self,
        cart: CartId,
        by: &Actor,
        req: StoreShareRequest,
    ) -> Result<StoreShare> {
        let d = &self.deps;
        let store_id = d
            .carts
            .cart_store(cart)
            .await?
            .ok_or_else(Refusal::cart_not_found)?;
        let store = d.catalogs.resolve(Some(&store_id))?.current().store.clone();
        if !d.shares.settings(&store.id).await?.customer_shares {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                format!("{} does not take shared carts", store.name),
            )
            .into());
        }
        let name = req.name.trim().to_owned();
        if name.is_empty() {
            return Err(Refusal::new(ErrorCode::InvalidField, "enter your name").into());
        }
        text::check_line("a name", &name, MAX_SHARE_NAME_CHARS)?;
        let email = valid_email(&req.email)?;
        let message = req.message.trim().to_owned();
        text::check_multiline("a message", &message, MAX_INVITE_MESSAGE_CHARS)?;
        let cart_name = d
            .sharing
            .cart_name(cart)
            .await?
            .ok_or_else(Refusal::cart_not_found)?;
        let now = d.clock.now_ms();
        let share = NewStoreShare {
            id: StoreShareId::new_random(),
            store: store.id.clone(),
            cart,
            shared_by: by.user_id,
            name,
            email,
            message,
            now_ms: now,
        };
        let rendered = store_share_mail(&StoreShareMail {
            store_name: &store.name,
            name: &share.name,
            email: &share.email,
            cart_name: &cart_name,
            message: &share.message,
        });
        let mails: Vec<NewMail> = d
            .staff
            .list_staff(&store.id)
            .await?
            .into_iter()
            .filter(|s| !s.email.is_empty())
            .map(|s| NewMail {
                purpose: MailPurpose::StoreShare,
                ref_id: share.id.to_string(),
                recipient: s.email,
                subject: rendered.subject.clone(),
                text: rendered.text.clone(),
                html: rendered.html.clone(),
                now_ms: now,
            })
            .collect();
        d.shares.create_store_share(&share, &mails).await?;
        d.mail.wake();
        let text = format!("{} shared this cart with {}", by.name, store.name);
        self.deps.feed.note(cart, by, "store_shared", text).await;
        self.shared(&store.id)
            .await?
            .into_iter()
            .find(|s| s.id == share.id)
            .ok_or_else(|| Refusal::new(ErrorCode::NotFound, "no such shared cart").into())
    }

    /// The store's shares as the staff see them, newest first.
    async fn shared(&self, store: &str) -> Result<Vec<StoreShare>> {
        let shares = self.deps.shares.store_shares(store).await?;
        Ok(shares
            .into_iter()
            .map(|s| StoreShare {
                id: s.id,
                cart_id: s.cart,
                cart_name: s.cart_name,
                line_count: s.line_count,
                subtotal: s.subtotal,
                name: s.name,
                email: s.email,
                message: s.message,
                created_at: s.created_at,
            })
            .collect())
    }

    /// The carts shared with the store, newest first (staff only).
    pub async fn list(&self, store: &str, caller: UserId) -> Result<Vec<StoreShare>> {
        self.check_staff(store, caller).await?;
        self.shared(store).await
    }

    /// Opens a shared cart live: the staff member becomes an editor of it
    /// (a higher role they had stays). Opening again changes nothing.
    pub async fn open(
        &self,
        store: &str,
        who: &Actor,
        id: StoreShareId,
    ) -> Result<OpenSharedResponse> {
        self.check_staff(store, who.user_id).await?;
        let store = self
            .deps
            .catalogs
            .resolve(Some(store))?
            .current()
            .store
            .clone();
        let now = self.deps.clock.now_ms();
        let (cart, previous, role) = match self
            .deps
            .shares
            .open_store_share(&store.id, id, who.user_id, now, MAX_MEMBERS)
            .await
        {
            Err(JoinError::NotFound) => {
                return Err(Refusal::new(ErrorCode::NotFound, "no such shared cart").into());
            }
            other => other?,
        };
        if previous != Some(role) {
            let text = format!("{} of {} opened the shared cart", who.name, store.name);
            self.deps
                .feed
                .joined(cart, who, text, (who.user_id, role))
                .await;
        }
        Ok(OpenSharedResponse {
            cart_id: cart,
            role,
        })
    }

    async fn check_staff(&self, store: &str, caller: UserId) -> Result<()> {
        if self.role_of(store, caller).await?.is_none() {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "only the store's staff see the carts shared with it",
            )
            .into());
        }
        Ok(())
    }
}
