-- Several stores on one server, each with its own catalog, currency and
-- time zone, and staff roles for the support desk.

-- The time zone a store's people read times in (an IANA name), and whether
-- an agent may take over a registered shopper's cart without asking first
-- (guests always give a help code).
ALTER TABLE stores ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE stores ADD COLUMN takeover_consent TEXT NOT NULL DEFAULT 'required'
    CHECK (takeover_consent IN ('required', 'waived_for_registered'));
UPDATE stores SET time_zone = 'America/New_York' WHERE id = 'demo';

-- A sku names a product within its store: two stores may both sell "MUG".
CREATE TABLE products_new (
    store_id        TEXT NOT NULL REFERENCES stores(id),
    sku             TEXT NOT NULL,
    name            TEXT NOT NULL,
    price           INTEGER NOT NULL,
    currency        TEXT NOT NULL,
    stock           INTEGER NOT NULL,
    color           TEXT NOT NULL,
    group_buy_min   INTEGER,
    group_buy_price INTEGER,
    position        INTEGER NOT NULL,
    PRIMARY KEY (store_id, sku)
) WITHOUT ROWID;
INSERT INTO products_new (store_id, sku, name, price, currency, stock, color, group_buy_min,
                          group_buy_price, position)
    SELECT store_id, sku, name, price, currency, stock, color, group_buy_min, group_buy_price,
           position FROM products;
DROP TABLE products;
ALTER TABLE products_new RENAME TO products;

-- Staff roles: an owner (manages the staff and the settings, and may do
-- everything an agent may), or an agent. An agent with customer_update may
-- change a customer's cart (take it over); owners always may.
CREATE TABLE store_staff_new (
    store_id        TEXT NOT NULL REFERENCES stores(id),
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('owner', 'agent')),
    customer_update INTEGER NOT NULL DEFAULT 0,
    added_by        TEXT,
    added_at        INTEGER NOT NULL,
    PRIMARY KEY (store_id, user_id)
);
INSERT INTO store_staff_new (store_id, user_id, role, customer_update, added_by, added_at)
    SELECT store_id, user_id, CASE role WHEN 'owner' THEN 'owner' ELSE 'agent' END,
           role = 'owner', added_by, added_at FROM store_staff;
DROP TABLE store_staff;
ALTER TABLE store_staff_new RENAME TO store_staff;
CREATE INDEX store_staff_user ON store_staff(user_id);
