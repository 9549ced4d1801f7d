-- Group checkout: deadlines, the store's checkout settings, orders.

-- When the cart locks by itself (Unix ms); written with each change from the
-- document, so that a node finds every deadline without loading rooms.
ALTER TABLE carts ADD COLUMN lock_deadline INTEGER;
CREATE INDEX carts_lock_deadline ON carts(lock_deadline) WHERE lock_deadline IS NOT NULL;

-- The store's checkout settings: orders over approval_over need approval
-- (a cart may set its own threshold instead).
CREATE TABLE store_checkout (
    store_id      TEXT PRIMARY KEY,
    approval_over INTEGER
);

-- The shipping rate table: a price per parcel by destination country
-- ('*' for any other), free when the parcel's goods reach free_over.
CREATE TABLE shipping_rates (
    store_id  TEXT NOT NULL,
    country   TEXT NOT NULL,
    price     INTEGER NOT NULL CHECK (price >= 0),
    free_over INTEGER,
    PRIMARY KEY (store_id, country)
);
INSERT INTO shipping_rates (store_id, country, price, free_over) VALUES
    ('demo', 'US', 499, 5000),
    ('demo', '*', 1499, NULL);

-- An order: the cart's lines, prices, addresses and split as they were when
-- it was placed. It outlives its cart (no foreign key to carts).
-- cart_synced: 0 until the cart's document shows the order's latest status
-- (a node that died in between catches up at start).
CREATE TABLE orders (
    id              TEXT PRIMARY KEY,
    store_id        TEXT NOT NULL REFERENCES stores(id),
    cart_id         TEXT NOT NULL,
    cart_name       TEXT NOT NULL,
    placed_by       TEXT NOT NULL,
    placed_by_name  TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'fulfilled', 'cancelled')),
    status_by_name  TEXT NOT NULL,
    currency        TEXT NOT NULL,
    subtotal        INTEGER NOT NULL,
    shipping        INTEGER NOT NULL,
    total           INTEGER NOT NULL,
    split           TEXT NOT NULL,
    addresses       TEXT NOT NULL,
    cart_synced     INTEGER NOT NULL DEFAULT 0,
    placed_at       INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
-- One live order per cart: two requests placing the same cart cannot both win.
CREATE UNIQUE INDEX orders_one_live_per_cart ON orders(cart_id) WHERE status <> 'cancelled';
CREATE INDEX orders_store ON orders(store_id, placed_at);
CREATE INDEX orders_unsynced ON orders(cart_synced) WHERE cart_synced = 0;

CREATE TABLE order_lines (
    order_id   TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    sku        TEXT NOT NULL,
    name       TEXT NOT NULL,
    unit_price INTEGER NOT NULL,
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    line_total INTEGER NOT NULL,
    owner      TEXT NOT NULL,
    owner_name TEXT NOT NULL,
    PRIMARY KEY (order_id, sku)
) WITHOUT ROWID;

-- Each payer's share and how it is paid.
CREATE TABLE order_shares (
    order_id     TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    amount       INTEGER NOT NULL CHECK (amount >= 0),
    provider     TEXT NOT NULL,
    reference    TEXT NOT NULL,
    instructions TEXT NOT NULL,
    paid_at      INTEGER,
    PRIMARY KEY (order_id, user_id)
) WITHOUT ROWID;

-- Stock never goes below zero, whoever writes it.
CREATE TRIGGER products_stock_not_negative BEFORE UPDATE OF stock ON products
WHEN NEW.stock < 0
BEGIN
    SELECT RAISE(ABORT, 'stock would go below zero');
END;
