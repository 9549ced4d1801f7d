//! The delivery worker: one task that claims due deliveries and sends them
//! with bounded concurrency, never on the path of an edit.
//!
//! Where the store wakes it when an event is committed (SQLite: only this
//! node writes the outbox), it sleeps until the next delivery is due, at
//! most [`POLL_WOKEN`]; where other nodes write events too (Postgres), it
//! polls the outbox every [`POLL`] at most. It reads when the next
//! delivery is due, and claims (a write) only when one is. On start it
//! releases the claims a stopped or killed node left, so those deliveries
//! are tried again with the same event id. A failed attempt is retried
//! after a delay drawn uniformly from zero to `base * 2^(attempt - 1)`
//! (capped at [`LONGEST_RETRY`]): exponential back-off with full jitter,
//! so that endpoints coming back do not get every retry at once. Once an
//! attempt fails later than the give-up window after its event, the
//! endpoint is disabled and its owners told.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::mail::endpoint_disabled;
use super::send;
use super::targets::Targets;
use crate::clock::Clock;
use crate::config::Config;
use crate::mail::MailQueue;
use crate::store::Webhooks;
use crate::store::sharing::{MailPurpose, NewMail};
use crate::store::webhooks::{AfterFailure, AttemptOutcome, ClaimedDelivery};
use crate::wake::woken;

/// Deliveries in flight at once, over all endpoints.
const MAX_IN_FLIGHT: usize = 16;
/// Deliveries in flight at once to one endpoint, so that a slow one does
/// not hold every slot.
const MAX_PER_ENDPOINT: usize = 4;
/// How long a stopping worker lets deliveries in flight finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// The longest the worker waits before looking at the outbox again, where
/// other nodes' transactions write it too.
const POLL: Duration = Duration::from_millis(250);
/// The same, where the store wakes the worker after each event it
/// commits: only a bound, since nothing should become due unannounced.
const POLL_WOKEN: Duration = Duration::from_secs(30);
/// The longest wait between two attempts at one event.
pub const LONGEST_RETRY: Duration = Duration::from_secs(60 * 60);

/// How long to wait for a delivery due at `next`, at most `longest`. One
/// due already waits for its endpoint's deliveries in flight: a finished
/// one wakes the loop, else it looks again after [`POLL`].
fn until(next: Option<i64>, now_ms: i64, longest: Duration) -> Duration {
    match next {
        Some(at) if at > now_ms => Duration::from_millis((at - now_ms) as u64).min(longest),
        Some(_) => POLL,
        None => longest,
    }
}

/// When to retry and when to give up.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// The most the first retry waits; each later one doubles it.
    pub base: Duration,
    /// How long after an event its deliveries are tried.
    pub give_up_after: Duration,
}

impl RetryPolicy {
    pub fn from_config(config: &Config) -> Self {
        Self {
            base: Duration::from_millis(config.webhook_retry_base_ms),
            give_up_after: Duration::from_secs(config.webhook_give_up_secs),
        }
    }

    /// The wait after the `attempt`-th failed attempt (full jitter).
    pub fn delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(20);
        let ceiling = self.base.saturating_mul(1 << doublings).min(LONGEST_RETRY);
        let ms = rand::rng().random_range(0..=ceiling.as_millis() as u64);
        Duration::from_millis(ms)
    }
}

/// Delivers the webhook outbox.
pub struct WebhookWorker {
    pub store: Arc<dyn Webhooks>,
    pub clock: Arc<dyn Clock>,
    /// Woken when an owner's e-mail was queued.
    pub mail: MailQueue,
    pub policy: RetryPolicy,
    /// Which addresses deliveries may reach.
    pub targets: Targets,
}

impl WebhookWorker {
    /// Runs until `shutdown`; deliveries in flight then have
    /// [`SHUTDOWN_GRACE`] to finish.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        if let Err(e) = self.store.release_claims().await {
            tracing::error!(error = %e, "webhook claims could not be released");
        }
        let client = send::client(self.targets);
        let mut in_flight = JoinSet::new();
        let written = self.store.events_written();
        let longest = if written.is_some() { POLL_WOKEN } else { POLL };
        loop {
            let free = MAX_IN_FLIGHT - in_flight.len();
            let wait = if free == 0 {
                None
            } else {
                self.start_due(free, longest, &client, &mut in_flight).await
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                () = tokio::time::sleep(wait.unwrap_or(POLL)), if wait.is_some() => {}
                () = woken(written.as_deref()) => {}
            }
        }
        // Deliveries still in flight after the grace are cut: their claims
        // are released at the next start, and they are sent again.
        let drained = async { while in_flight.join_next().await.is_some() {} };
        if tokio::time::timeout(SHUTDOWN_GRACE, drained).await.is_err() {
            in_flight.shutdown().await;
        }
        tracing::debug!("webhook worker stopped");
    }

    /// Starts the deliveries due now, up to `free`, and says how long to
    /// wait before looking again, at most `longest` (`None`: at once,
    /// after a full batch).
    async fn start_due(
        self: &Arc<Self>,
        free: usize,
        longest: Duration,
        client: &reqwest::Client,
        in_flight: &mut JoinSet<()>,
    ) -> Option<Duration> {
        let now = self.clock.now_ms();
        // A read first: a poll with nothing due takes no write lock (SQLite's
        // change-log writer waits on it) and no claim lock (Postgres's nodes
        // take it in turn).
        let next = match self.store.next_due().await {
            Ok(next) => next,
            Err(e) => {
                tracing::error!(error = %e, "the webhook outbox cannot be read");
                return Some(POLL);
            }
        };
        if !matches!(next, Some(at) if at <= now) {
            return Some(until(next, now, longest));
        }
        match self.store.claim_due(now, free, MAX_PER_ENDPOINT).await {
            Ok(claimed) => {
                let full = claimed.len() == free;
                for delivery in claimed {
                    in_flight.spawn(self.clone().attempt(client.clone(), delivery));
                }
                // A full batch: more may be due at once.
                if full {
                    None
                } else {
                    Some(self.until_next(longest).await)
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "due webhook deliveries cannot be claimed");
                Some(POLL)
            }
        }
    }

    /// How long until the next delivery is due, at most `longest`.
    async fn until_next(&self, longest: Duration) -> Duration {
        match self.store.next_due().await {
            Ok(next) => until(next, self.clock.now_ms(), longest),
            Err(_) => POLL,
        }
    }

    /// One attempt at one delivery, recorded.
    async fn attempt(self: Arc<Self>, client: reqwest::Client, claimed: ClaimedDelivery) {
        let now_secs = self.clock.now_ms().div_euclid(1000);
        let recorded = match send::deliver(&client, self.targets, &claimed, now_secs).await {
            Ok(outcome) => {
                metrics::counter!("cartroom_webhook_attempts_total", "result" => "delivered")
                    .increment(1);
                self.store.delivered(&claimed, &outcome).await
            }
            Err(outcome) => {
                metrics::counter!("cartroom_webhook_attempts_total", "result" => "failed")
                    .increment(1);
                self.failed(&claimed, &outcome).await
            }
        };
        if let Err(e) = recorded {
            tracing::error!(error = %e, event = %claimed.event_id, "a webhook attempt could not be recorded");
        }
    }

    async fn failed(
        &self,
        claimed: &ClaimedDelivery,
        outcome: &AttemptOutcome,
    ) -> crate::store::Result<()> {
        let now = self.clock.now_ms();
        let give_up_ms = self.policy.give_up_after.as_millis() as i64;
        let next = if now - claimed.created_at >= give_up_ms {
            let reason = format!(
                "deliveries kept failing for {} (last: {})",
                humane(self.policy.give_up_after),
                outcome.error.as_deref().unwrap_or("no answer")
            );
            let words = endpoint_disabled(&claimed.store_id, &claimed.url, &reason);
            tracing::warn!(endpoint = %claimed.endpoint_id, %reason, "webhook endpoint disabled");
            AfterFailure::Disable {
                reason,
                mail: NewMail {
                    purpose: MailPurpose::WebhookDisabled,
                    ref_id: claimed.endpoint_id.clone(),
                    recipient: String::new(),
                    subject: words.subject,
                    text: words.text,
                    html: words.html,
                    now_ms: now,
                },
            }
        } else {
            let delay = self.policy.delay(claimed.attempt);
            AfterFailure::RetryAt(now + delay.as_millis() as i64)
        };
        if self.store.failed(claimed, outcome, &next, now).await? {
            self.mail.wake();
        }
        Ok(())
    }
}

/// "24 hours", "90 seconds": the give-up window in the owner's e-mail.
fn humane(window: Duration) -> String {
    let secs = window.as_secs();
    if secs >= 3600 && secs.is_multiple_of(3600) {
        format!("{} hours", secs / 3600)
    } else {
        format!("{secs} seconds")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_with_full_jitter_up_to_the_cap() {
        let policy = RetryPolicy {
            base: Duration::from_secs(5),
            give_up_after: Duration::from_secs(86_400),
        };
        for attempt in 1u32..40 {
            let ceiling = Duration::from_secs(5)
                .saturating_mul(1 << attempt.saturating_sub(1).min(20))
                .min(LONGEST_RETRY);
            assert!(policy.delay(attempt) <= ceiling);
        }
        assert_eq!(humane(Duration::from_secs(86_400)), "24 hours");
    }
}
