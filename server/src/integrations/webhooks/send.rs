//! One delivery: the event's JSON body, signed, POSTed with a bounded
//! timeout; the answer's status decides, and at most [`MAX_ANSWER_READ`]
//! bytes of its body are read (only to quote it in the log).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cartroom_protocol::webhooks::WebhookEvent;

use super::sign::signature;
use super::targets::{PublicOnly, Targets};
use crate::store::webhooks::{AttemptOutcome, ClaimedDelivery};

/// The longest a delivery may take, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The most of an answer's body read.
const MAX_ANSWER_READ: usize = 4096;
/// The most of an answer's body quoted in the delivery log.
const MAX_QUOTED: usize = 200;

/// The HTTP client of every delivery: no redirects (a 3xx is a failure),
/// no cookies, bounded time, names resolved to the addresses `targets`
/// allows.
pub fn client(targets: Targets) -> reqwest::Client {
    let builder = match targets {
        Targets::PublicOnly => reqwest::Client::builder().dns_resolver(Arc::new(PublicOnly)),
        Targets::Any => reqwest::Client::builder(),
    };
    builder
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Cartroom-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a client with no custom TLS builds")
}

/// The JSON body of a claimed delivery: the same for every attempt, since
/// the event's body is final once claimed.
pub fn body(claimed: &ClaimedDelivery) -> Result<Vec<u8>, serde_json::Error> {
    let event = WebhookEvent {
        id: claimed.event_id.clone(),
        kind: claimed.kind,
        created_at: claimed.created_at,
        store_id: claimed.store_id.clone(),
        data: serde_json::from_str(&claimed.data)?,
    };
    serde_json::to_vec(&event)
}

/// POSTs the delivery; `Ok` for a 2xx answer.
pub async fn deliver(
    client: &reqwest::Client,
    targets: Targets,
    claimed: &ClaimedDelivery,
    now_secs: i64,
) -> Result<AttemptOutcome, AttemptOutcome> {
    let started = Instant::now();
    let failed = |status: Option<u16>, error: String| AttemptOutcome {
        status,
        error: Some(error),
        duration_ms: started.elapsed().as_millis() as i64,
    };
    // An address in the URL is not resolved, so it is checked here.
    let refusal = reqwest::Url::parse(&claimed.url)
        .map_err(|e| e.to_string())
        .and_then(|url| targets.refusal(&url).map_or(Ok(()), Err));
    if let Err(why) = refusal {
        return Err(failed(None, why));
    }
    let body = match body(claimed) {
        Ok(body) => body,
        Err(e) => return Err(failed(None, format!("the event could not be encoded: {e}"))),
    };
    let response = client
        .post(&claimed.url)
        .header("content-type", "application/json")
        .header("cartroom-webhook-id", &claimed.event_id)
        .header("cartroom-webhook-timestamp", now_secs.to_string())
        .header(
            "cartroom-webhook-signature",
            signature(&claimed.secret, now_secs, &body),
        )
        .body(body)
        .send()
        .await;
    let mut response = match response {
        Ok(response) => response,
        Err(e) => return Err(failed(None, describe(&e))),
    };
    let status = response.status();
    let mut answer = Vec::new();
    while answer.len() < MAX_ANSWER_READ {
        match response.chunk().await {
            Ok(Some(chunk)) => answer.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    if status.is_success() {
        return Ok(AttemptOutcome {
            status: Some(status.as_u16()),
            error: None,
            duration_ms: started.elapsed().as_millis() as i64,
        });
    }
    let quoted: String = String::from_utf8_lossy(&answer)
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_QUOTED)
        .collect();
    let error = if quoted.is_empty() {
        format!("answered {status}")
    } else {
        format!("answered {status}: {quoted}")
    };
    Err(failed(Some(status.as_u16()), error))
}

/// A transport error in a few words, without the URL (the log shows it).
fn describe(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "the request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        cause = e.to_string();
        source = e.source();
    }
    if cause.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {cause}")
    }
}
