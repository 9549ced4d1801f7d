-- Accounts. A guest has no e-mail and no password until it signs up.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT,
    is_guest      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);

-- Only the SHA-256 of a session token is stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE stores (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    currency TEXT NOT NULL
);

CREATE TABLE products (
    sku             TEXT PRIMARY KEY,
    store_id        TEXT NOT NULL REFERENCES stores(id),
    name            TEXT NOT NULL,
    price           INTEGER NOT NULL,
    currency        TEXT NOT NULL,
    stock           INTEGER NOT NULL,
    color           TEXT NOT NULL,
    group_buy_min   INTEGER,
    group_buy_price INTEGER,
    position        INTEGER NOT NULL
);

-- subtotal, line_count and name mirror the document so listing carts does not load rooms.
CREATE TABLE carts (
    id         TEXT PRIMARY KEY,
    store_id   TEXT NOT NULL REFERENCES stores(id),
    name       TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    subtotal   INTEGER NOT NULL DEFAULT 0,
    line_count INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE members (
    cart_id  TEXT NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role     TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    added_at INTEGER NOT NULL,
    PRIMARY KEY (cart_id, user_id)
);
CREATE INDEX members_user ON members(user_id);

-- The per-cart change log after the latest snapshot, in the order the room made the changes.
CREATE TABLE changes (
    cart_id TEXT NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    bytes   BLOB NOT NULL,
    PRIMARY KEY (cart_id, seq)
) WITHOUT ROWID;

-- doc.save() covering every change up to upto_seq.
CREATE TABLE snapshots (
    cart_id  TEXT PRIMARY KEY REFERENCES carts(id) ON DELETE CASCADE,
    upto_seq INTEGER NOT NULL,
    bytes    BLOB NOT NULL
);

-- Op ids already applied, so that a retry is answered and not applied twice.
CREATE TABLE applied_ops (
    cart_id TEXT NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    op_id   TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    PRIMARY KEY (cart_id, user_id, op_id)
) WITHOUT ROWID;
CREATE INDEX applied_ops_seq ON applied_ops(cart_id, seq);

CREATE TABLE activity (
    cart_id   TEXT NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    user_id   TEXT NOT NULL,
    user_name TEXT NOT NULL,
    kind      TEXT NOT NULL,
    text      TEXT NOT NULL,
    subtotal  INTEGER NOT NULL,
    currency  TEXT NOT NULL,
    PRIMARY KEY (cart_id, seq)
) WITHOUT ROWID;
