-- The support desk: customers, their conversations with a store, and the
-- messages of each (docs/protocol.md section 13).

-- A shopper as one store knows them: one per (store, account). The e-mail
-- is the account's when it has one, or the one given in the chat.
CREATE TABLE customers (
    id         TEXT PRIMARY KEY,
    store_id   TEXT NOT NULL REFERENCES stores(id),
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    email      TEXT,
    phone      TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (store_id, user_id)
);
CREATE INDEX customers_user ON customers(user_id);

-- One conversation per customer. last_seq numbers the messages (tips
-- included); last_message_seq is the newest message that is not a tip.
-- Unread counts are counted from the two read marks, never stored.
CREATE TABLE conversations (
    id                TEXT PRIMARY KEY,
    customer_id       TEXT NOT NULL UNIQUE REFERENCES customers(id) ON DELETE CASCADE,
    store_id          TEXT NOT NULL REFERENCES stores(id),
    user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status            TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    last_seq          INTEGER NOT NULL DEFAULT 0,
    last_message_seq  INTEGER NOT NULL DEFAULT 0,
    agents_read_seq   INTEGER NOT NULL DEFAULT 0,
    customer_read_seq INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX conversations_store ON conversations(store_id, updated_at);
CREATE INDEX conversations_user ON conversations(user_id);

-- The messages, numbered per conversation. A tip has no author and names
-- the cart it is about.
CREATE TABLE support_messages (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('customer', 'agent', 'tip')),
    author_id       TEXT,
    author_name     TEXT NOT NULL,
    text            TEXT NOT NULL,
    cart_id         TEXT,
    at              INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
