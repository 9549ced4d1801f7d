//! What the store owner's analytics read (`docs/protocol.md` section 16):
//! figures counted from the stored carts, members, activity, orders,
//! invitations and share links, by day; and the one thing stored for them
//! alone, how often each share link's page was opened.

use async_trait::async_trait;
use cartroom_protocol::analytics::{Figures, LinkFigures};
use cartroom_protocol::ids::LinkId;

use super::Result;

/// One day in the store's time zone, as Unix ms: `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DaySpan {
    pub start_ms: i64,
    pub end_ms: i64,
}

/// The share links created in a period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeriodLinks {
    /// Newest first, at most the limit asked for.
    pub links: Vec<LinkFigures>,
    /// How many there are in all.
    pub total: i64,
}

/// Analytics of a store, counted from what is stored.
#[async_trait]
pub trait Analytics: Send + Sync {
    /// The figures of each day of `days` (in order, one per day, zeros
    /// included) for the store's carts.
    async fn day_figures(&self, store: &str, days: &[DaySpan]) -> Result<Vec<Figures>>;

    /// Share links of the store's carts created within `period`, newest
    /// first, at most `limit`, with their opens, joins and orders so far.
    async fn period_links(&self, store: &str, period: DaySpan, limit: usize)
    -> Result<PeriodLinks>;

    /// Counts one open of a share link's page at `at_ms`.
    async fn record_link_open(&self, link: LinkId, at_ms: i64) -> Result<()>;
}
