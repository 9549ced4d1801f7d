//! Carts shared with the store, in memory.

use std::collections::HashMap;

use async_trait::async_trait;
use cartroom_protocol::store::{StoreSettings, StoreShareId, TakeoverConsent};
use cartroom_protocol::{CartId, MemberRole, UserId};

use super::MemoryStore;
use crate::store::Result;
use crate::store::sharing::{JoinError, NewMail};
use crate::store::store_shares::{NewStoreShare, StoreShareRecord, StoreShares};

/// Shares and the per-store setting.
#[derive(Default)]
pub(super) struct StoreSharesState {
    settings: HashMap<String, StoreSettings>,
    shares: Vec<NewStoreShare>,
}

#[async_trait]
impl StoreShares for MemoryStore {
    async fn settings(&self, store: &str) -> Result<StoreSettings> {
        Ok(self
            .state()
            .store_shares
            .settings
            .get(store)
            .cloned()
            .unwrap_or(StoreSettings {
                customer_shares: false,
                takeover_consent: TakeoverConsent::Required,
            }))
    }

    async fn set_settings(&self, store: &str, settings: &StoreSettings) -> Result<()> {
        self.state()
            .store_shares
            .settings
            .insert(store.to_owned(), settings.clone());
        Ok(())
    }

    async fn create_store_share(&self, share: &NewStoreShare, mails: &[NewMail]) -> Result<()> {
        let mut state = self.state();
        state.store_shares.shares.push(share.clone());
        for mail in mails {
            state.queue_mail(mail);
        }
        Ok(())
    }

    async fn store_shares(&self, store: &str) -> Result<Vec<StoreShareRecord>> {
        let state = self.state();
        Ok(state
            .store_shares
            .shares
            .iter()
            .rev()
            .filter(|s| s.store == store)
            .filter_map(|s| {
                let cart = state.carts.get(&s.cart)?;
                Some(StoreShareRecord {
                    id: s.id,
                    cart: s.cart,
                    cart_name: cart.name.clone(),
                    line_count: cart.line_count,
                    subtotal: cart.subtotal,
                    name: s.name.clone(),
                    email: s.email.clone(),
                    message: s.message.clone(),
                    created_at: s.now_ms,
                })
            })
            .collect())
    }

    async fn open_store_share(
        &self,
        store: &str,
        id: StoreShareId,
        user: UserId,
        _now_ms: i64,
        max_members: usize,
    ) -> Result<(CartId, Option<MemberRole>, MemberRole), JoinError> {
        let mut state = self.state();
        let cart = state
            .store_shares
            .shares
            .iter()
            .find(|s| s.store == store && s.id == id)
            .map(|s| s.cart)
            .ok_or(JoinError::NotFound)?;
        let (previous, role) = state.join(cart, user, MemberRole::Editor, max_members)?;
        Ok((cart, previous, role))
    }
}
