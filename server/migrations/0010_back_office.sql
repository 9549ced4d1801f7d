-- The store API (docs/protocol.md section 14): API keys, idempotent
-- requests, catalog and customer sync, order export.

-- A store's API keys: only the SHA-256 of the secret is kept, and its
-- first 12 characters to tell keys apart.
CREATE TABLE store_api_keys (
    id           TEXT PRIMARY KEY,
    store_id     TEXT NOT NULL REFERENCES stores(id),
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX store_api_keys_store ON store_api_keys(store_id, created_at);

-- Answers to requests sent with an Idempotency-Key, replayed for a repeat.
-- status is NULL while the first request is still running.
CREATE TABLE store_idempotency (
    store_id    TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER,
    body        BLOB,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (store_id, key)
) WITHOUT ROWID;
CREATE INDEX store_idempotency_expiry ON store_idempotency(expires_at);

-- Products: a given picture, unlisting, and a change sequence for the
-- sync cursor. change_seq is taken in the writing transaction (triggers
-- below); SQLite has one writer, so sequences commit in increasing order.
ALTER TABLE products ADD COLUMN image_url TEXT;
ALTER TABLE products ADD COLUMN unlisted_at INTEGER;
ALTER TABLE products ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE products ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
UPDATE products SET change_seq = (
    SELECT COUNT(*) FROM products p
    WHERE p.store_id < products.store_id
       OR (p.store_id = products.store_id AND p.sku <= products.sku)
);
CREATE INDEX products_change_seq ON products(change_seq);
CREATE INDEX products_store_change ON products(store_id, change_seq);

CREATE TRIGGER products_sequence_insert AFTER INSERT ON products
BEGIN
    UPDATE products
    SET change_seq = (SELECT MAX(change_seq) FROM products) + 1,
        updated_at = CASE WHEN NEW.updated_at = 0
                          THEN CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
                          ELSE NEW.updated_at END
    WHERE store_id = NEW.store_id AND sku = NEW.sku;
END;

-- Any change a back office may want to see (an order taking stock too);
-- a writer that does not set updated_at gets the database's time.
CREATE TRIGGER products_sequence_update
AFTER UPDATE OF name, price, currency, stock, group_buy_min, group_buy_price, image_url,
                unlisted_at ON products
BEGIN
    UPDATE products
    SET change_seq = (SELECT MAX(change_seq) FROM products) + 1,
        updated_at = CASE WHEN NEW.updated_at = OLD.updated_at
                          THEN CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
                          ELSE NEW.updated_at END
    WHERE store_id = NEW.store_id AND sku = NEW.sku;
END;

-- Orders in the order they were placed, for the export cursor: the
-- number is taken in the placing transaction, so a reader that sees
-- number n also sees every number below it.
ALTER TABLE orders ADD COLUMN export_seq INTEGER;
UPDATE orders SET export_seq = (
    SELECT COUNT(*) FROM orders o
    WHERE o.placed_at < orders.placed_at OR (o.placed_at = orders.placed_at AND o.id <= orders.id)
);
CREATE UNIQUE INDEX orders_export_seq ON orders(export_seq);
CREATE INDEX orders_store_export ON orders(store_id, export_seq);
CREATE TRIGGER orders_export_sequence AFTER INSERT ON orders
BEGIN
    UPDATE orders SET export_seq = (SELECT COALESCE(MAX(export_seq), 0) FROM orders) + 1
    WHERE id = NEW.id;
END;

-- Customers: imported by a back office (by e-mail, with its own id for
-- them) before or after they have an account. user_id is NULL until an
-- account with the e-mail exists; the triggers on users link it.
--
-- The table is rebuilt to make user_id optional. Migrations run in a
-- transaction with foreign keys on, where dropping `customers` deletes
-- the conversations (and their messages) that reference it: they are kept
-- aside and put back once the new table has the same ids.
CREATE TEMP TABLE kept_conversations AS SELECT * FROM conversations;
CREATE TEMP TABLE kept_support_messages AS SELECT * FROM support_messages;
CREATE TABLE customers_new (
    id          TEXT PRIMARY KEY,
    store_id    TEXT NOT NULL REFERENCES stores(id),
    user_id     TEXT REFERENCES users(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    email       TEXT,
    phone       TEXT,
    created_at  INTEGER NOT NULL,
    external_id TEXT,
    updated_at  INTEGER NOT NULL DEFAULT 0,
    change_seq  INTEGER NOT NULL DEFAULT 0,
    UNIQUE (store_id, user_id)
);
INSERT INTO customers_new (id, store_id, user_id, name, email, phone, created_at, updated_at)
    SELECT id, store_id, user_id, name, email, phone, created_at, created_at FROM customers;
DROP TABLE customers;
ALTER TABLE customers_new RENAME TO customers;
INSERT INTO conversations SELECT * FROM kept_conversations;
INSERT INTO support_messages SELECT * FROM kept_support_messages;
DROP TABLE kept_conversations;
DROP TABLE kept_support_messages;
CREATE INDEX customers_user ON customers(user_id);
UPDATE customers SET change_seq = (SELECT COUNT(*) FROM customers c WHERE c.id <= customers.id);
CREATE INDEX customers_change_seq ON customers(change_seq);
CREATE INDEX customers_store_change ON customers(store_id, change_seq);
-- One not-yet-linked customer per (store, e-mail).
CREATE UNIQUE INDEX customers_unlinked_email ON customers(store_id, email) WHERE user_id IS NULL;

CREATE TRIGGER customers_sequence_insert AFTER INSERT ON customers
BEGIN
    UPDATE customers
    SET change_seq = (SELECT MAX(change_seq) FROM customers) + 1,
        updated_at = CASE WHEN NEW.updated_at = 0 THEN NEW.created_at ELSE NEW.updated_at END
    WHERE id = NEW.id;
END;
CREATE TRIGGER customers_sequence_update
AFTER UPDATE OF user_id, name, email, phone, external_id ON customers
BEGIN
    UPDATE customers
    SET change_seq = (SELECT MAX(change_seq) FROM customers) + 1,
        updated_at = CASE WHEN NEW.updated_at = OLD.updated_at
                          THEN CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
                          ELSE NEW.updated_at END
    WHERE id = NEW.id;
END;

-- An account that appears with an imported customer's e-mail (sign-up, or
-- a guest signing up) becomes that customer. A guest already known to the
-- store (a support chat) keeps its customer, which takes the import's
-- external id; the import's row goes.
CREATE TRIGGER customers_link_new_user AFTER INSERT ON users WHEN NEW.email IS NOT NULL
BEGIN
    UPDATE customers SET user_id = NEW.id WHERE user_id IS NULL AND email = NEW.email;
END;
CREATE TRIGGER customers_link_upgraded_user AFTER UPDATE OF email ON users
WHEN NEW.email IS NOT NULL
BEGIN
    UPDATE customers
    SET external_id = (SELECT i.external_id FROM customers i
                       WHERE i.store_id = customers.store_id AND i.user_id IS NULL
                         AND i.email = NEW.email)
    WHERE user_id = NEW.id AND external_id IS NULL AND EXISTS (
        SELECT 1 FROM customers i
        WHERE i.store_id = customers.store_id AND i.user_id IS NULL AND i.email = NEW.email);
    DELETE FROM customers
    WHERE user_id IS NULL AND email = NEW.email AND EXISTS (
        SELECT 1 FROM customers c WHERE c.store_id = customers.store_id AND c.user_id = NEW.id);
    UPDATE customers SET user_id = NEW.id WHERE user_id IS NULL AND email = NEW.email;
END;

