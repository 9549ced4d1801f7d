//! API keys: created and revoked by the store's owners, shown once, kept
//! as the SHA-256 of the secret. A secret is 32 random bytes, so a plain
//! hash suffices (nothing to guess from it, unlike a password).

use cartroom_protocol::back_office::{
    ApiKeyView, CreatedApiKey, KEY_PREFIX_CHARS, KeyInfo, MAX_KEY_NAME_CHARS, MAX_LIVE_KEYS,
};
use cartroom_protocol::store::StoreRole;
use cartroom_protocol::{ErrorCode, UserId};
use rand::RngCore;
use uuid::Uuid;

use super::BackOfficeService;
use super::validate::line;
use crate::auth::token::token_hash;
use crate::refusal::Refusal;
use crate::services::error::Result;
use crate::store::back_office::NewKey;

/// What every secret starts with, so that a leaked one is recognisable.
pub const SECRET_PREFIX: &str = "crk_";
/// How often `last_used_at` is written at most, per key (ms).
const TOUCH_EVERY_MS: i64 = 60_000;

/// The key a store API request was made with.
#[derive(Clone, Debug)]
pub struct StoreKey {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub store_id: String,
}

impl StoreKey {
    pub fn info(&self) -> KeyInfo {
        KeyInfo {
            id: self.id.clone(),
            name: self.name.clone(),
            prefix: self.prefix.clone(),
        }
    }

    /// How the key is named in a cart's activity.
    pub fn actor_name(&self) -> String {
        format!("Back office ({})", self.name)
    }
}

/// Why a key was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyRefusal {
    Unknown,
    Revoked,
}

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", hex::encode(bytes))
}

impl BackOfficeService {
    /// Refuses anyone but an owner of the store.
    async fn check_owner(&self, store: &str, caller: UserId) -> Result<()> {
        match self.staff.store_role(store, caller).await?.map(|a| a.role) {
            Some(StoreRole::Owner) => Ok(()),
            _ => Err(Refusal::new(
                ErrorCode::Forbidden,
                "only the store's owners manage its API keys",
            )
            .into()),
        }
    }

    pub async fn list_keys(&self, store: &str, caller: UserId) -> Result<Vec<ApiKeyView>> {
        self.check_owner(store, caller).await?;
        Ok(self.store.list_keys(store).await?)
    }

    /// A new key and its secret (shown this once): `invalid_field` for a
    /// bad name, `too_many` past the live keys a store may have.
    pub async fn create_key(
        &self,
        store: &str,
        caller: UserId,
        name: &str,
    ) -> Result<CreatedApiKey> {
        self.check_owner(store, caller).await?;
        let name = line("a key name", name, MAX_KEY_NAME_CHARS)?;
        let secret = new_secret();
        let prefix: String = secret.chars().take(KEY_PREFIX_CHARS).collect();
        let id = Uuid::new_v4().to_string();
        let created_by = caller.to_string();
        let key = NewKey {
            id: &id,
            store_id: store,
            name: &name,
            prefix: &prefix,
            secret_hash: &token_hash(&secret),
            created_by: &created_by,
            now_ms: self.clock.now_ms(),
        };
        let key = self
            .store
            .insert_key(key, MAX_LIVE_KEYS)
            .await?
            .ok_or_else(|| {
                Refusal::new(
                    ErrorCode::TooMany,
                    format!("a store has at most {MAX_LIVE_KEYS} live keys; revoke one first"),
                )
            })?;
        Ok(CreatedApiKey { key, secret })
    }

    /// Revokes a key (again: nothing changes); `not_found` when the store
    /// has no such key.
    pub async fn revoke_key(&self, store: &str, caller: UserId, id: &str) -> Result<()> {
        self.check_owner(store, caller).await?;
        if self
            .store
            .revoke_key(store, id, self.clock.now_ms())
            .await?
        {
            Ok(())
        } else {
            Err(Refusal::new(ErrorCode::NotFound, "the store has no such key").into())
        }
    }

    /// The key with this secret, its last use noted (at most once a minute).
    pub async fn authenticate(
        &self,
        secret: &str,
    ) -> Result<std::result::Result<StoreKey, KeyRefusal>> {
        if !secret.starts_with(SECRET_PREFIX) {
            return Ok(Err(KeyRefusal::Unknown));
        }
        let Some(record) = self.store.key_by_hash(&token_hash(secret)).await? else {
            return Ok(Err(KeyRefusal::Unknown));
        };
        if record.view.revoked_at.is_some() {
            return Ok(Err(KeyRefusal::Revoked));
        }
        let now = self.clock.now_ms();
        if record
            .view
            .last_used_at
            .is_none_or(|at| now - at >= TOUCH_EVERY_MS)
        {
            self.store.touch_key(&record.view.id, now).await?;
        }
        Ok(Ok(StoreKey {
            id: record.view.id,
            name: record.view.name,
            prefix: record.view.prefix,
            store_id: record.store_id,
        }))
    }
}
