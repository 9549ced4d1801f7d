//! What the support desk's end-to-end tests share: the seeded agents, a
//! shopper's conversation and its status, JSON requests, and bounded waits for frames.

#![allow(dead_code)]

use std::time::Duration;

use anyhow::{Context, bail};
use cartroom_client::http::Method;
use cartroom_client::{Account, Connection, Event, api_error};
use cartroom_e2e::{DEMO_OWNER_PASSWORD, TestServer};
use cartroom_protocol::support::{Conversation, ConversationId};
use cartroom_protocol::takeover::Takeover;
use cartroom_protocol::{CartId, ServerMsg};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Wade: an agent of the `demo` store with the customer update right.
pub const WADE: &str = "agent@corner.example";
/// Tessa: an agent of the `tea` store without it.
pub const TESSA: &str = "agent@tea.example";
/// How long a test waits for a frame it expects.
pub const WAIT: Duration = Duration::from_secs(10);

/// A seeded agent, signed in (their password is the demo owner's).
pub async fn agent(server: &TestServer, email: &str) -> anyhow::Result<Account> {
    Account::sign_in(&server.base_url, email, DEMO_OWNER_PASSWORD).await
}

/// A request with a JSON answer, read as `T`.
pub async fn call<T: DeserializeOwned>(
    account: &Account,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<T> {
    let value = account.request_json(method, path, body.as_ref()).await?;
    Ok(serde_json::from_value(value)?)
}

/// The stable code of a refused request.
pub fn code_of(result: anyhow::Result<Value>) -> anyhow::Result<String> {
    match result {
        Ok(value) => bail!("expected a refusal, got {value}"),
        Err(e) => Ok(api_error(&e).context("not an API refusal")?.code.clone()),
    }
}

/// The shopper's conversation with a store (opened, or theirs already).
pub async fn open_conversation(shopper: &Account, store: &str) -> anyhow::Result<String> {
    let conversation = shopper
        .request_json(
            Method::POST,
            "/api/support/conversations",
            Some(&json!({ "store_id": store })),
        )
        .await?;
    conversation["id"]
        .as_str()
        .map(str::to_owned)
        .context("a conversation has an id")
}

/// The shopper's conversation with a store, as the desk answers it.
pub async fn open(account: &Account, store: &str) -> anyhow::Result<Conversation> {
    call(
        account,
        Method::POST,
        "/api/support/conversations",
        Some(json!({ "store_id": store })),
    )
    .await
}

/// A conversation as `account` sees it.
pub async fn get(account: &Account, id: ConversationId) -> anyhow::Result<Conversation> {
    call(
        account,
        Method::GET,
        &format!("/api/support/conversations/{id}"),
        None,
    )
    .await
}

/// Moves a conversation to `status`; the conversation as it then stands.
pub async fn set_status(
    account: &Account,
    id: ConversationId,
    status: &str,
) -> anyhow::Result<Conversation> {
    call(
        account,
        Method::POST,
        &format!("/api/support/conversations/{id}/status"),
        Some(json!({ "status": status })),
    )
    .await
}

/// A new cart of `store`, its id.
pub async fn cart_in(account: &Account, store: &str, name: &str) -> anyhow::Result<CartId> {
    let cart = account
        .request_json(
            Method::POST,
            "/api/carts",
            Some(&json!({ "name": name, "store_id": store })),
        )
        .await?;
    Ok(serde_json::from_value(cart["id"].clone())?)
}

/// Sets the `demo` store's takeover consent rule, as its owner.
pub async fn set_consent(server: &TestServer, rule: &str) -> anyhow::Result<()> {
    let owner = server.owner().await?;
    owner
        .request_json(
            Method::PUT,
            "/api/store/settings?store=demo",
            Some(&json!({ "customer_shares": true, "takeover_consent": rule })),
        )
        .await?;
    Ok(())
}

/// The first message `pick` accepts, skipping others; an error after
/// [`WAIT`] without one.
pub async fn wait_for<T>(
    conn: &mut Connection,
    mut pick: impl FnMut(&ServerMsg) -> Option<T>,
) -> anyhow::Result<T> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(event) = conn.next_event_timeout(left).await? else {
            bail!("nothing expected arrived within {WAIT:?}");
        };
        match event {
            Event::Msg(msg) => {
                if let Some(found) = pick(&msg) {
                    return Ok(found);
                }
            }
            Event::Closed { code, reason } => bail!("closed ({code:?}): {reason}"),
            Event::Changes { .. } => {}
        }
    }
}

/// The next takeover frame about `id`: (frame type, takeover).
pub async fn takeover_frame(
    conn: &mut Connection,
    id: cartroom_protocol::takeover::TakeoverId,
) -> anyhow::Result<(&'static str, Takeover)> {
    wait_for(conn, |msg| match msg {
        ServerMsg::TakeoverRequested { takeover } if takeover.id == id => {
            Some(("takeover_requested", (**takeover).clone()))
        }
        ServerMsg::TakeoverStarted { takeover } if takeover.id == id => {
            Some(("takeover_started", (**takeover).clone()))
        }
        ServerMsg::TakeoverEnded { takeover } if takeover.id == id => {
            Some(("takeover_ended", (**takeover).clone()))
        }
        _ => None,
    })
    .await
}

/// The next activity event of `cart` whose kind is `kind`: its text.
pub async fn activity_of(
    conn: &mut Connection,
    cart: CartId,
    kind: &str,
) -> anyhow::Result<String> {
    wait_for(conn, |msg| match msg {
        ServerMsg::Activity { cart_id, event } if *cart_id == cart && event.kind == kind => {
            Some(event.text.clone())
        }
        _ => None,
    })
    .await
}
