//! Shipping from the store's rate table: one price per parcel (an address
//! with something shipped to it), by destination country, free over an
//! amount of goods when the rate says so.

/// One row of a store's rate table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShippingRate {
    /// ISO country code, or `*` for every country without a row of its own.
    pub country: String,
    /// Minor units per parcel.
    pub price: i64,
    /// A parcel with at least this much of goods ships free.
    pub free_over: Option<i64>,
}

/// A store's shipping rates. Without a row for a country (and without a
/// `*` row) shipping there costs nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RateTable(pub Vec<ShippingRate>);

impl RateTable {
    /// The price of one parcel of `goods` (minor units of goods in it) to
    /// `country`; nothing for an empty parcel.
    pub fn parcel(&self, country: &str, units: i64, goods: i64) -> i64 {
        if units <= 0 {
            return 0;
        }
        let country = country.trim().to_ascii_uppercase();
        let rate = self
            .0
            .iter()
            .find(|r| r.country.eq_ignore_ascii_case(&country))
            .or_else(|| self.0.iter().find(|r| r.country == "*"));
        match rate {
            Some(rate) if rate.free_over.is_some_and(|free| goods >= free) => 0,
            Some(rate) => rate.price,
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RateTable {
        RateTable(vec![
            ShippingRate {
                country: "US".into(),
                price: 499,
                free_over: Some(5000),
            },
            ShippingRate {
                country: "*".into(),
                price: 1499,
                free_over: None,
            },
        ])
    }

    #[test]
    fn a_parcel_costs_its_country_rate_unless_free_or_empty() {
        let t = table();
        assert_eq!(t.parcel("us", 2, 2400), 499);
        assert_eq!(t.parcel("US", 5, 5000), 0);
        assert_eq!(t.parcel("FR", 1, 99_999), 1499);
        assert_eq!(t.parcel("US", 0, 0), 0);
        assert_eq!(RateTable::default().parcel("US", 3, 100), 0);
    }
}
