-- The store's staff, carts they send to customers, and carts customers share
-- with the store.

-- The store's staff: accounts with a role in a store. An owner manages the
-- staff (adds and removes people by e-mail); owners and staff both see and
-- manage the store's orders. A store keeps at least one owner (the service
-- checks it in the transaction that removes one).
CREATE TABLE store_staff (
    store_id TEXT NOT NULL REFERENCES stores(id),
    user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role     TEXT NOT NULL CHECK (role IN ('owner', 'staff')),
    added_by TEXT,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (store_id, user_id)
);
CREATE INDEX store_staff_user ON store_staff(user_id);

-- Merchant shares ("offers"): a cart the store's staff send to a customer by
-- e-mail. The customer opens it live (joins the cart as an editor) or takes
-- a copy (a new cart of their own; copy_cart_id). token_hash is NULL until
-- the mail worker sends the e-mail, as for invitations.
CREATE TABLE offers (
    id           TEXT PRIMARY KEY,
    cart_id      TEXT NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    message      TEXT NOT NULL,
    sent_by      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    token_hash   TEXT UNIQUE,
    accepted_by  TEXT REFERENCES users(id) ON DELETE SET NULL,
    accepted_at  INTEGER,
    accepted_as  TEXT CHECK (accepted_as IN ('live', 'copy')),
    copy_cart_id TEXT
);
CREATE INDEX offers_cart ON offers(cart_id, created_at);

-- The outbox learns three purposes: an offer's e-mail, the e-mail telling
-- the staff a cart was shared with the store (no token: staff open it by
-- their role), and a cart's deadline reminder to each member with an e-mail
-- (no token: members open their cart; ref_id is `<cart id>@<deadline ms>`,
-- queued once per recipient). SQLite cannot change a
-- CHECK, so the table is rebuilt with the same rows and ids.
CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    purpose         TEXT NOT NULL CHECK (purpose IN ('invitation', 'password_reset', 'offer', 'store_share',
                                                    'deadline_reminder')),
    ref_id          TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'retrying', 'failed', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error      TEXT,
    sent_at         INTEGER
);
INSERT INTO outbox_new (id, purpose, ref_id, recipient, subject, body_text, body_html, created_at,
                        status, attempts, next_attempt_at, last_error, sent_at)
    SELECT id, purpose, ref_id, recipient, subject, body_text, body_html, created_at,
           status, attempts, next_attempt_at, last_error, sent_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX outbox_ref ON outbox(purpose, ref_id);

-- Whether the store takes carts its customers share with it (the owner
-- decides; the demo store does).
CREATE TABLE store_sharing (
    store_id        TEXT PRIMARY KEY,
    customer_shares INTEGER NOT NULL DEFAULT 0
);
INSERT INTO store_sharing (store_id, customer_shares) VALUES ('demo', 1);

-- A cart a shopper shared with the store: who (name and e-mail as they
-- gave them), why (message). No expiry; the staff open the cart as editors.
CREATE TABLE store_shares (
    id         TEXT PRIMARY KEY,
    store_id   TEXT NOT NULL,
    cart_id    TEXT NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    shared_by  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    message    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX store_shares_store ON store_shares(store_id, created_at);
