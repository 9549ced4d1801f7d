//! The store's catalog: prices, stock and pictures are the server's, never a
//! client's. Seeded with a demo store on first start and then read from the
//! database into memory, so validating an op never waits on a query.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;

/// A store selling from the catalog.
#[derive(Clone, Debug, Serialize)]
pub struct StoreInfo {
    pub id: String,
    pub name: String,
    pub currency: String,
}

/// A lower unit price once a group buys at least `min_quantity`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct GroupBuy {
    pub min_quantity: i64,
    pub price: i64,
}

/// One product.
#[derive(Clone, Debug, Serialize)]
pub struct Product {
    pub sku: String,
    pub name: String,
    /// Minor units.
    pub price: i64,
    pub currency: String,
    pub stock: i64,
    pub image_url: String,
    pub group_buy: Option<GroupBuy>,
    #[serde(skip)]
    pub color: String,
}

/// The store and its products, in catalog order.
#[derive(Debug)]
pub struct Catalog {
    pub store: StoreInfo,
    products: Vec<Product>,
    by_sku: HashMap<String, usize>,
}

impl Catalog {
    pub fn new(store: StoreInfo, products: Vec<Product>) -> Self {
        let by_sku = products
            .iter()
            .enumerate()
            .map(|(i, p)| (p.sku.clone(), i))
            .collect();
        Self {
            store,
            products,
            by_sku,
        }
    }

    pub fn get(&self, sku: &str) -> Option<&Product> {
        self.by_sku.get(sku).map(|&i| &self.products[i])
    }

    /// Products whose name or sku contains `query`, case-insensitively.
    pub fn search(&self, query: Option<&str>) -> Vec<&Product> {
        let query = query.map(str::to_lowercase).unwrap_or_default();
        self.products
            .iter()
            .filter(|p| {
                query.is_empty()
                    || p.name.to_lowercase().contains(&query)
                    || p.sku.to_lowercase().contains(&query)
            })
            .collect()
    }
}

/// The demo store seeded on an empty database.
pub const DEMO_STORE: (&str, &str, &str) = ("demo", "Cartroom Corner Shop", "USD");

/// A seeded product: (sku, name, price in cents, stock, colour, group-buy (min, price)).
pub type DemoProduct = (
    &'static str,
    &'static str,
    i64,
    i64,
    &'static str,
    Option<(i64, i64)>,
);

/// The demo store's products.
pub const DEMO_PRODUCTS: &[DemoProduct] = &[
    (
        "MUG-BLUE",
        "Blue Mug",
        1200,
        500,
        "#2f6fdb",
        Some((10, 950)),
    ),
    ("MUG-RED", "Red Mug", 1200, 500, "#d9433b", Some((10, 950))),
    ("TEA-GREEN", "Green Tea, 50 bags", 650, 300, "#4c9a2a", None),
    (
        "TEA-BLACK",
        "Breakfast Tea, 80 bags",
        700,
        300,
        "#5b3a29",
        None,
    ),
    (
        "COFFEE-BEANS",
        "Coffee Beans 1 kg",
        2400,
        120,
        "#6f4e37",
        Some((5, 2100)),
    ),
    ("KETTLE", "Electric Kettle", 3900, 40, "#9aa5b1", None),
    (
        "PLATES-4",
        "Stoneware Plates, set of 4",
        3200,
        60,
        "#c8b08a",
        None,
    ),
    (
        "NAPKINS",
        "Linen Napkins, 6 pack",
        1800,
        80,
        "#e8d9c5",
        None,
    ),
    (
        "CANDLES",
        "Beeswax Candles, pair",
        1100,
        150,
        "#f2c14e",
        None,
    ),
    ("BBQ-TONGS", "Barbecue Tongs", 1500, 70, "#444b52", None),
    (
        "CHARCOAL",
        "Charcoal 5 kg",
        1300,
        200,
        "#2b2b2b",
        Some((20, 1050)),
    ),
    ("BURGER-BUNS", "Burger Buns, 6", 399, 400, "#e0a458", None),
    (
        "LEMONADE",
        "Lemonade 1 l",
        299,
        600,
        "#f7e463",
        Some((24, 249)),
    ),
    (
        "WATER-6",
        "Sparkling Water, 6 x 1 l",
        499,
        500,
        "#8ecae6",
        None,
    ),
    ("CHIPS", "Sea Salt Chips", 249, 800, "#f4a261", None),
    (
        "PICNIC-BLANKET",
        "Picnic Blanket",
        4500,
        25,
        "#e76f51",
        None,
    ),
    ("SUNSCREEN", "Sunscreen SPF 50", 1650, 90, "#ffb703", None),
    ("FRISBEE", "Frisbee", 900, 110, "#06d6a0", None),
    (
        "NOTEBOOK",
        "Dotted Notebook A5",
        1400,
        250,
        "#264653",
        Some((12, 1100)),
    ),
    (
        "PENS-10",
        "Gel Pens, 10 colours",
        1000,
        300,
        "#7b2cbf",
        None,
    ),
    ("BACKPACK", "Day Backpack 20 l", 5900, 30, "#386641", None),
    (
        "WATER-BOTTLE",
        "Steel Water Bottle",
        2200,
        140,
        "#3a86ff",
        None,
    ),
];

/// The product picture: a flat SVG drawn from the product's colour and
/// initials, so the server needs no outside network or image files.
pub fn product_svg(product: &Product) -> String {
    let initials: String = product
        .name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .filter(|c| c.is_alphanumeric())
        .take(2)
        .collect();
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="160" height="160" viewBox="0 0 160 160"><rect width="160" height="160" rx="24" fill="{color}"/><circle cx="120" cy="40" r="46" fill="#ffffff" opacity="0.14"/><text x="80" y="96" font-family="system-ui, sans-serif" font-size="52" font-weight="700" text-anchor="middle" fill="#ffffff">{initials}</text></svg>"##,
        color = product.color,
        initials = initials,
    );
    svg
}

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

    #[test]
    fn demo_catalog_has_unique_skus() {
        let mut skus: Vec<_> = DEMO_PRODUCTS.iter().map(|p| p.0).collect();
        skus.sort_unstable();
        skus.dedup();
        assert_eq!(skus.len(), DEMO_PRODUCTS.len());
        assert!(DEMO_PRODUCTS.len() >= 20);
    }
}
