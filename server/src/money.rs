//! Money is an integer of minor units with a currency code, never a float.

/// Formats minor units for people: `$24.00`, `€3.50`, `12.00 CHF`, with
/// thousands grouped (`$1,125.00`), the way the web client writes the
/// store's money (`Intl.NumberFormat` for `en-US`), so that an activity
/// sentence and the page beside it agree.
pub fn format_money(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let amount = format!("{}.{:02}", group_thousands(abs / 100), abs % 100);
    match currency {
        "USD" => format!("{sign}${amount}"),
        "EUR" => format!("{sign}€{amount}"),
        "GBP" => format!("{sign}£{amount}"),
        other => format!("{sign}{amount} {other}"),
    }
}

/// `1125` → `1,125`; `1234567` → `1,234,567`.
fn group_thousands(units: u64) -> String {
    let digits = units.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_formatted_from_minor_units() {
        assert_eq!(format_money(2400, "USD"), "$24.00");
        assert_eq!(format_money(5, "EUR"), "€0.05");
        assert_eq!(format_money(-150, "CHF"), "-1.50 CHF");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(format_money(112_500, "USD"), "$1,125.00");
        assert_eq!(format_money(99_999, "USD"), "$999.99");
        assert_eq!(format_money(100_000, "GBP"), "£1,000.00");
        assert_eq!(format_money(-123_456_789, "USD"), "-$1,234,567.89");
        assert_eq!(format_money(100_000_000, "CHF"), "1,000,000.00 CHF");
    }
}
