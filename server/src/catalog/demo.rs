//! The demo stores seeded on a new database, so that a fresh `make run` has
//! something to put in a cart, and a shopper with carts in two stores of one
//! merchant.

use cartroom_protocol::http::{GroupBuy, Product, StoreInfo};

use super::{Catalog, Listing, image_url};

/// A seeded store: its id, name, currency, time zone and products.
pub struct DemoStore {
    pub id: &'static str,
    pub name: &'static str,
    pub currency: &'static str,
    pub time_zone: &'static str,
    pub products: &'static [DemoProduct],
}

/// The first demo store (the default store of every route that names none).
pub const DEMO_STORE: DemoStore = DemoStore {
    id: "demo",
    name: "Cartroom Corner Shop",
    currency: "USD",
    time_zone: "America/New_York",
    products: DEMO_PRODUCTS,
};

/// The second demo store, of the same merchant.
pub const TEA_STORE: DemoStore = DemoStore {
    id: "tea",
    name: "Cartroom Tea House",
    currency: "EUR",
    time_zone: "Europe/Berlin",
    products: TEA_PRODUCTS,
};

/// The demo stores' owner (e-mail, name), seeded with the stores; the
/// password is `--demo-owner-password`. The README names both.
pub const DEMO_OWNER: (&str, &str) = ("owner@corner.example", "Corner Shop Owner");

/// A seeded agent: e-mail, name, store, and whether they may update a
/// customer's cart (take it over). Their password is the owner's.
pub type DemoAgent = (&'static str, &'static str, &'static str, bool);

/// The demo agents: one per store, one with the customer update right and
/// one without, so that both kinds can be tried.
pub const DEMO_AGENTS: &[DemoAgent] = &[
    ("agent@corner.example", "Wade", "demo", true),
    ("agent@tea.example", "Tessa", "tea", false),
];

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

/// The second demo store's products.
pub const TEA_PRODUCTS: &[DemoProduct] = &[
    ("SENCHA", "Sencha, 100 g", 890, 200, "#7fb069", None),
    (
        "EARL-GREY",
        "Earl Grey, 100 g",
        750,
        200,
        "#8d6a9f",
        Some((6, 640)),
    ),
    (
        "ROOIBOS",
        "Rooibos Vanilla, 100 g",
        690,
        150,
        "#c1502e",
        None,
    ),
    (
        "MATCHA",
        "Ceremonial Matcha, 30 g",
        2400,
        40,
        "#3f7d20",
        None,
    ),
    ("TEAPOT", "Cast Iron Teapot", 5900, 12, "#3d405b", None),
    (
        "GLASS-CUPS",
        "Double-wall Glass Cups, 2",
        2200,
        60,
        "#9ad1d4",
        None,
    ),
    ("INFUSER", "Steel Tea Infuser", 690, 300, "#adb5bd", None),
    ("HONEY", "Acacia Honey, 250 g", 990, 80, "#f2c14e", None),
];

/// The first demo store as a catalog, ready to seed.
pub fn demo_catalog() -> Catalog {
    store_catalog(&DEMO_STORE)
}

/// Every demo store as a catalog, ready to seed.
pub fn demo_catalogs() -> Vec<Catalog> {
    vec![store_catalog(&DEMO_STORE), store_catalog(&TEA_STORE)]
}

fn store_catalog(store: &DemoStore) -> Catalog {
    let currency = store.currency;
    let listings = store
        .products
        .iter()
        .map(|&(sku, name, price, stock, color, group)| Listing {
            product: Product {
                sku: sku.into(),
                name: name.into(),
                price,
                currency: currency.into(),
                stock,
                image_url: image_url(store.id, sku),
                group_buy: group.map(|(min_quantity, price)| GroupBuy {
                    min_quantity,
                    price,
                }),
            },
            color: color.into(),
        })
        .collect();
    let info = StoreInfo {
        id: store.id.into(),
        name: store.name.into(),
        currency: currency.into(),
        time_zone: store.time_zone.into(),
    };
    Catalog::new(info, listings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_catalogs_have_unique_skus() {
        let catalogs = demo_catalogs();
        assert!(catalogs[0].listings().len() >= 20);
        assert!(catalogs[1].listings().len() >= 8);
        let mut seen = std::collections::HashSet::new();
        for catalog in &catalogs {
            for listing in catalog.listings() {
                let sku = &listing.product.sku;
                assert_eq!(
                    catalog.get(sku),
                    Some(&listing.product),
                    "duplicate sku {sku}"
                );
                // `/images/{sku}.svg` without a store finds it in any store.
                assert!(seen.insert(sku.clone()), "{sku} is in two demo stores");
            }
        }
    }
}
