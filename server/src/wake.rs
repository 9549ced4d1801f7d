//! Waiting on a wake-up that a store may or may not give: a store that
//! alone writes what a background task waits for wakes the task after the
//! commit, and the task sleeps long; a store that other nodes write too
//! gives none, and the task looks again every short while.

use tokio::sync::Notify;

/// Until `wake` is notified (a notification given while nobody waited
/// counts); never, without one.
pub async fn woken(wake: Option<&Notify>) {
    match wake {
        Some(wake) => wake.notified().await,
        None => std::future::pending().await,
    }
}
