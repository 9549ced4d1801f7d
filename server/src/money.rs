//! Money is an integer of minor units with a currency code, never a float.

/// Formats minor units for people: `$24.00`, `€3.50`, `12.00 CHF`.
pub fn format_money(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let amount = format!("{}.{:02}", abs / 100, abs % 100);
    match currency {
        "USD" => format!("{sign}${amount}"),
        "EUR" => format!("{sign}€{amount}"),
        "GBP" => format!("{sign}£{amount}"),
        other => format!("{sign}{amount} {other}"),
    }
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
}
