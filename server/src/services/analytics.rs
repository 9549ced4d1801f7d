//! The store owner's analytics (`docs/protocol.md` section 16): a period
//! of whole days in the store's time zone, turned into `[start, end)`
//! spans of Unix ms (a day of a daylight-saving change is 23 or 25 hours
//! long), counted by the store ([`Analytics`]), then added up into totals,
//! rates and the shared / single-person segments.

use std::sync::Arc;

use cartroom_protocol::analytics::{
    AnalyticsResponse, DayFigures, Figures, MAX_LINK_ROWS, MAX_PERIOD_DAYS, Rates, Segment,
    Segments,
};
use cartroom_protocol::http::StoreInfo;
use cartroom_protocol::store::StoreRole;
use cartroom_protocol::{ErrorCode, UserId};
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::error::Result;
use crate::refusal::Refusal;
use crate::store::StoreStaff;
use crate::store::analytics::{Analytics, DaySpan};

/// The owners' figures of their stores.
pub struct AnalyticsService {
    analytics: Arc<dyn Analytics>,
    /// Who owns which store: only owners see the figures.
    staff: Arc<dyn StoreStaff>,
}

/// The days asked for: `from` to `to`, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: Date,
    pub to: Date,
}

impl Period {
    /// Parses `YYYY-MM-DD` bounds: `invalid_field` for a malformed date,
    /// `from` after `to`, or more than [`MAX_PERIOD_DAYS`] days.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Self, Refusal> {
        let from = parse_date("from", from)?;
        let to = parse_date("to", to)?;
        if from > to {
            return Err(invalid("`from` is after `to`"));
        }
        let period = Self { from, to };
        if period.days().len() as i64 > MAX_PERIOD_DAYS {
            return Err(invalid(format!(
                "a period is at most {MAX_PERIOD_DAYS} days"
            )));
        }
        Ok(period)
    }

    /// Every date of the period in order; at most one past the bound, so
    /// that a long period is seen to be too long without walking it.
    fn days(&self) -> Vec<Date> {
        let mut days = Vec::new();
        let mut day = self.from;
        while day <= self.to && days.len() as i64 <= MAX_PERIOD_DAYS {
            days.push(day);
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        days
    }
}

fn invalid(message: impl Into<String>) -> Refusal {
    Refusal::new(ErrorCode::InvalidField, message)
}

fn parse_date(name: &str, value: Option<&str>) -> Result<Date, Refusal> {
    let value = value.ok_or_else(|| invalid(format!("`{name}` is required (YYYY-MM-DD)")))?;
    let well_formed = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    well_formed
        .then(|| value.parse::<Date>().ok())
        .flatten()
        .ok_or_else(|| invalid(format!("`{name}` is not a date (YYYY-MM-DD)")))
}

/// Where a local day starts, as Unix ms (the first instant of the day when
/// midnight is skipped by a clock change).
fn day_start(day: Date, zone: &TimeZone) -> Option<i64> {
    day.to_zoned(zone.clone())
        .ok()
        .map(|start| start.timestamp().as_millisecond())
}

/// The `[start, end)` of each day of the period.
fn spans(days: &[Date], zone: &TimeZone) -> Result<Vec<DaySpan>, Refusal> {
    days.iter()
        .map(|&day| {
            let start = day_start(day, zone);
            let end = day.tomorrow().ok().and_then(|next| day_start(next, zone));
            match (start, end) {
                (Some(start_ms), Some(end_ms)) => Ok(DaySpan { start_ms, end_ms }),
                _ => Err(invalid("the period is outside the calendar")),
            }
        })
        .collect()
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// An average in minor units, rounded half up (amounts are not negative).
fn average(value: i64, count: i64) -> Option<i64> {
    (count > 0).then(|| (value + count / 2) / count)
}

fn segment(carts: i64, ordered_carts: i64, order_value: i64) -> Segment {
    Segment {
        carts,
        ordered_carts,
        order_value,
        conversion: ratio(ordered_carts, carts),
        average_order_value: average(order_value, ordered_carts),
    }
}

fn add(total: &mut Figures, day: &Figures) {
    total.carts += day.carts;
    total.shared_carts += day.shared_carts;
    total.collaborative_carts += day.collaborative_carts;
    total.ordered_carts += day.ordered_carts;
    total.order_value += day.order_value;
    total.shared_ordered_carts += day.shared_ordered_carts;
    total.shared_order_value += day.shared_order_value;
    total.members += day.members;
    total.edits += day.edits;
    total.invitations_sent += day.invitations_sent;
    total.invitations_accepted += day.invitations_accepted;
    total.link_opens += day.link_opens;
    total.link_joins += day.link_joins;
}

impl AnalyticsService {
    pub fn new(analytics: Arc<dyn Analytics>, staff: Arc<dyn StoreStaff>) -> Self {
        Self { analytics, staff }
    }

    /// The store's figures for the period (its owners only: `forbidden`
    /// for agents and everyone else).
    pub async fn report(
        &self,
        store: &StoreInfo,
        period: Period,
        caller: UserId,
    ) -> Result<AnalyticsResponse> {
        let role = self.staff.store_role(&store.id, caller).await?;
        if role.map(|access| access.role) != Some(StoreRole::Owner) {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "only the store's owners see its analytics",
            )
            .into());
        }
        let zone = TimeZone::get(&store.time_zone).unwrap_or(TimeZone::UTC);
        let dates = period.days();
        let spans = spans(&dates, &zone)?;
        let figures = self.analytics.day_figures(&store.id, &spans).await?;
        let whole = DaySpan {
            start_ms: spans.first().map_or(0, |d| d.start_ms),
            end_ms: spans.last().map_or(0, |d| d.end_ms),
        };
        let links = self
            .analytics
            .period_links(&store.id, whole, MAX_LINK_ROWS)
            .await?;
        let mut totals = Figures::default();
        for day in &figures {
            add(&mut totals, day);
        }
        let t = &totals;
        Ok(AnalyticsResponse {
            store_id: store.id.clone(),
            time_zone: zone.iana_name().unwrap_or("UTC").to_owned(),
            currency: store.currency.clone(),
            from: period.from.to_string(),
            to: period.to.to_string(),
            days: dates
                .iter()
                .zip(figures.iter())
                .map(|(date, figures)| DayFigures {
                    date: date.to_string(),
                    figures: figures.clone(),
                })
                .collect(),
            rates: Rates {
                shared_rate: ratio(t.shared_carts, t.carts),
                collaboration_rate: ratio(t.collaborative_carts, t.carts),
                conversion: ratio(t.ordered_carts, t.carts),
                average_order_value: average(t.order_value, t.ordered_carts),
                edits_per_member: ratio(t.edits, t.members),
            },
            segments: Segments {
                shared: segment(t.shared_carts, t.shared_ordered_carts, t.shared_order_value),
                single: segment(
                    t.carts - t.shared_carts,
                    t.ordered_carts - t.shared_ordered_carts,
                    t.order_value - t.shared_order_value,
                ),
            },
            links: links.links,
            links_total: links.total,
            totals,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn periods_are_whole_days_within_the_bound() {
        let p = Period::parse(Some("2026-01-01"), Some("2026-12-31")).unwrap();
        assert_eq!(p.days().len(), 365);
        assert!(
            Period::parse(Some("2024-01-01"), Some("2024-12-31")).is_ok(),
            "366 days"
        );
        for (from, to) in [
            (Some("2024-01-01"), Some("2025-01-01")),
            (Some("2026-02-02"), Some("2026-02-01")),
            (Some("2026-2-01"), Some("2026-02-03")),
            (Some("2026-02-30"), Some("2026-03-03")),
            (Some("+2026-02-01"), Some("2026-02-03")),
            (None, Some("2026-02-03")),
            (Some("2026-02-01"), None),
        ] {
            let refusal = Period::parse(from, to).unwrap_err();
            assert_eq!(refusal.code, ErrorCode::InvalidField, "{from:?}..{to:?}");
        }
    }

    #[test]
    fn a_day_of_a_clock_change_has_its_own_length() {
        let zone = TimeZone::get("America/New_York").unwrap();
        let days = [date("2026-03-07"), date("2026-03-08"), date("2026-11-01")];
        let hours: Vec<i64> = spans(&days, &zone)
            .unwrap()
            .iter()
            .map(|d| (d.end_ms - d.start_ms) / 3_600_000)
            .collect();
        assert_eq!(hours, [24, 23, 25]);
    }

    #[test]
    fn averages_round_to_the_nearest_minor_unit() {
        assert_eq!(average(1001, 2), Some(501));
        assert_eq!(average(1000, 3), Some(333));
        assert_eq!(average(0, 0), None);
        assert_eq!(ratio(1, 4), Some(0.25));
        assert_eq!(ratio(1, 0), None);
    }
}
