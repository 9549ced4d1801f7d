//! The demo store seeded on an empty database, so that a fresh `make run`
//! has something to put in a cart.

use cartroom_protocol::http::{GroupBuy, Product, StoreInfo};

use super::{Catalog, Listing};

/// The demo store seeded on an empty database.
pub const DEMO_STORE: (&str, &str, &str) = ("demo", "Cartroom Corner Shop", "USD");

/// The demo store's owner (e-mail, name), seeded with the store; the
/// password is `--demo-owner-password`. The README names both.
pub const DEMO_OWNER: (&str, &str) = ("owner@corner.example", "Corner Shop Owner");

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

/// The demo store as a catalog, ready to seed.
pub fn demo_catalog() -> Catalog {
    let (id, name, currency) = DEMO_STORE;
    let listings = DEMO_PRODUCTS
        .iter()
        .map(|&(sku, name, price, stock, color, group)| Listing {
            product: Product {
                sku: sku.into(),
                name: name.into(),
                price,
                currency: currency.into(),
                stock,
                image_url: format!("/images/{sku}.svg"),
                group_buy: group.map(|(min_quantity, price)| GroupBuy {
                    min_quantity,
                    price,
                }),
            },
            color: color.into(),
        })
        .collect();
    let store = StoreInfo {
        id: id.into(),
        name: name.into(),
        currency: currency.into(),
    };
    Catalog::new(store, listings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_catalog_has_unique_skus() {
        let catalog = demo_catalog();
        assert!(catalog.listings().len() >= 20);
        for listing in catalog.listings() {
            assert_eq!(
                catalog.get(&listing.product.sku),
                Some(&listing.product),
                "duplicate sku {}",
                listing.product.sku
            );
        }
    }
}
