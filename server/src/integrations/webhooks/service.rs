//! The store owner's webhook endpoints: registered, changed, deleted and
//! their delivery log read, by the store's owners only.

use std::sync::Arc;

use cartroom_protocol::webhooks::{
    CreatedWebhook, MAX_DELIVERIES_KEPT, MAX_ENDPOINTS_PER_STORE, MAX_URL_LEN, WebhookDelivery,
    WebhookEndpointView, WebhookEventType,
};
use cartroom_protocol::{ErrorCode, UserId};

use super::sign::new_secret;
use super::targets::Targets;
use crate::clock::Clock;
use crate::refusal::Refusal;
use crate::services::error::Result;
use crate::store::webhooks::{EndpointChange, NewEndpoint};
use crate::store::{StoreStaff, Webhooks};

/// Endpoint management, owners only.
pub struct WebhookService {
    webhooks: Arc<dyn Webhooks>,
    staff: Arc<dyn StoreStaff>,
    clock: Arc<dyn Clock>,
    targets: Targets,
}

impl WebhookService {
    pub fn new(
        webhooks: Arc<dyn Webhooks>,
        staff: Arc<dyn StoreStaff>,
        clock: Arc<dyn Clock>,
        targets: Targets,
    ) -> Self {
        Self {
            webhooks,
            staff,
            clock,
            targets,
        }
    }

    /// Refuses anyone but an owner of the store.
    async fn check_owner(&self, store: &str, caller: UserId) -> Result<()> {
        match self.staff.store_role(store, caller).await? {
            Some(access) if access.role == cartroom_protocol::store::StoreRole::Owner => Ok(()),
            _ => Err(Refusal::new(
                ErrorCode::Forbidden,
                "only the store's owners manage its webhooks",
            )
            .into()),
        }
    }

    pub async fn list(&self, store: &str, caller: UserId) -> Result<Vec<WebhookEndpointView>> {
        self.check_owner(store, caller).await?;
        Ok(self.webhooks.endpoints(store).await?)
    }

    /// Registers an endpoint with a fresh secret, shown this once.
    pub async fn create(
        &self,
        store: &str,
        caller: UserId,
        url: &str,
        events: &[WebhookEventType],
    ) -> Result<CreatedWebhook> {
        self.check_owner(store, caller).await?;
        check_url(url, self.targets)?;
        let events = check_events(events)?;
        let endpoint = NewEndpoint {
            id: format!("whe_{}", uuid::Uuid::new_v4().simple()),
            store_id: store.to_owned(),
            url: url.to_owned(),
            events,
            secret: new_secret(),
            now_ms: self.clock.now_ms(),
        };
        if !(self.webhooks)
            .create_endpoint(&endpoint, MAX_ENDPOINTS_PER_STORE)
            .await?
        {
            return Err(Refusal::new(
                ErrorCode::TooMany,
                format!("a store has at most {MAX_ENDPOINTS_PER_STORE} webhook endpoints"),
            )
            .into());
        }
        let view = self.find(store, &endpoint.id).await?;
        Ok(CreatedWebhook {
            endpoint: view,
            secret: endpoint.secret,
        })
    }

    pub async fn update(
        &self,
        store: &str,
        caller: UserId,
        id: &str,
        change: EndpointChange,
    ) -> Result<WebhookEndpointView> {
        self.check_owner(store, caller).await?;
        if let Some(url) = &change.url {
            check_url(url, self.targets)?;
        }
        let change = EndpointChange {
            events: change.events.as_deref().map(check_events).transpose()?,
            ..change
        };
        (self.webhooks.update_endpoint(store, id, &change).await?).ok_or_else(|| not_found().into())
    }

    pub async fn delete(&self, store: &str, caller: UserId, id: &str) -> Result<()> {
        self.check_owner(store, caller).await?;
        if self.webhooks.delete_endpoint(store, id).await? {
            Ok(())
        } else {
            Err(not_found().into())
        }
    }

    /// The endpoint's latest attempts, newest first.
    pub async fn deliveries(
        &self,
        store: &str,
        caller: UserId,
        id: &str,
    ) -> Result<Vec<WebhookDelivery>> {
        self.check_owner(store, caller).await?;
        (self.webhooks)
            .deliveries(store, id, MAX_DELIVERIES_KEPT)
            .await?
            .ok_or_else(|| not_found().into())
    }

    async fn find(&self, store: &str, id: &str) -> Result<WebhookEndpointView> {
        let endpoints = self.webhooks.endpoints(store).await?;
        (endpoints.into_iter().find(|e| e.id == id)).ok_or_else(|| not_found().into())
    }
}

fn not_found() -> Refusal {
    Refusal::new(
        ErrorCode::NotFound,
        "the store has no such webhook endpoint",
    )
}

/// An absolute `http` or `https` URL with a host, bounded, that `targets`
/// allows.
fn check_url(url: &str, targets: Targets) -> Result<(), Refusal> {
    let invalid = |why: &str| Refusal::new(ErrorCode::InvalidField, format!("url: {why}"));
    if url.len() > MAX_URL_LEN {
        return Err(invalid(&format!("at most {MAX_URL_LEN} bytes")));
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(invalid("an http:// or https:// URL with a host"));
    }
    match targets.refusal(&parsed) {
        Some(why) => Err(invalid(&why)),
        None => Ok(()),
    }
}

/// At least one event type; each once, in the documented order.
fn check_events(events: &[WebhookEventType]) -> Result<Vec<WebhookEventType>, Refusal> {
    if events.is_empty() {
        return Err(Refusal::new(
            ErrorCode::InvalidField,
            "events: at least one event type",
        ));
    }
    Ok(WebhookEventType::ALL
        .into_iter()
        .filter(|t| events.contains(t))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_http_or_https_with_a_host() {
        assert!(check_url("http://127.0.0.1:9000/hook", Targets::Any).is_ok());
        assert!(check_url("https://shop.example/hooks/cartroom", Targets::Any).is_ok());
        assert!(check_url("ftp://shop.example/", Targets::Any).is_err());
        assert!(check_url("/relative", Targets::Any).is_err());
        assert!(
            check_url(
                &format!("https://a.example/{}", "x".repeat(MAX_URL_LEN)),
                Targets::Any
            )
            .is_err()
        );
    }

    #[test]
    fn events_are_deduplicated_in_order() {
        let events = [
            WebhookEventType::ShareAccepted,
            WebhookEventType::OrderCreated,
            WebhookEventType::ShareAccepted,
        ];
        assert_eq!(
            check_events(&events).unwrap(),
            [
                WebhookEventType::OrderCreated,
                WebhookEventType::ShareAccepted
            ]
        );
        assert!(check_events(&[]).is_err());
    }
}
