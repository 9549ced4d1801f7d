//! A cart's checkout state in its document: the root `checkout` map (phase,
//! deadline, approval, budgets, split plan, addresses, order) and the
//! group-buy price of lines (`docs/protocol.md` section 6). The map is made
//! by the first checkout op; a cart without it is `open` with nothing set.
//!
//! Read once into the mirror ([`CheckoutMirror`]) and read into the JSON
//! view ([`checkout_view`]). What is derived (the unit price a line pays
//! once its group-buy tier is reached, each member's share, what is left of
//! a budget) is never stored: clients derive it the same way.
//!
//! ## Layout
//! - [`mirror`]: the `checkout` map read into the mirror that ops are
//!   checked against;
//! - [`view`]: the `checkout` map read into the JSON view, with what is
//!   derived (each member's total, what is left of budgets, units shipped
//!   nowhere);
//! - [`budgets`]: the budget check every op passes;
//! - [`group_buy`]: the price a line pays, and the activity notes when a
//!   tier is reached or lost;
//! - this file: the readers and the time format they share.

mod budgets;
mod group_buy;
mod mirror;
mod view;

pub use self::budgets::Overrun;
pub(in crate::cart) use self::budgets::{check_budgets, newly_over_budget};
pub use self::group_buy::unit_price;
pub(in crate::cart) use self::group_buy::{group_buy_notes, read_tier};
pub use self::mirror::CheckoutMirror;
pub(in crate::cart) use self::mirror::{AddressMirror, Budget};
pub(in crate::cart) use self::view::checkout_view;

use automerge::{ObjId, ReadDoc};

use crate::cart::schema::get_string;
use crate::refusal::Refusal;

/// An int, or `None` when the key is absent.
pub(in crate::cart) fn opt_i64<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    key: &str,
) -> Result<Option<i64>, Refusal> {
    Ok(doc.get(obj, key)?.and_then(|(v, _)| v.as_i64()))
}

/// A line's assignee `(user id, name)`, when it was assigned to someone.
pub(in crate::cart) fn read_assignee<R: ReadDoc>(
    doc: &R,
    line: &ObjId,
) -> Result<Option<(String, String)>, Refusal> {
    let user = get_string(doc, line, "assigned_to")?;
    if user.is_empty() {
        return Ok(None);
    }
    Ok(Some((user, get_string(doc, line, "assigned_to_name")?)))
}

/// A time for activity sentences: `2026-11-21 21:10 UTC`.
pub(in crate::cart) fn utc_minute(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_utc() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_minute(1_795_302_600_000), "2026-11-21 23:10 UTC");
        assert_eq!(utc_minute(951_782_400_000), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn the_tier_price_applies_from_its_minimum() {
        assert_eq!(unit_price(1200, Some((10, 950)), 9), 1200);
        assert_eq!(unit_price(1200, Some((10, 950)), 10), 950);
        assert_eq!(unit_price(1200, None, 100), 1200);
    }
}
