-- Support desk: an agent's takeover of a shopper's cart, and the help codes
-- a guest reads out to an agent.

-- A takeover: requested (the shopper has not answered), active (the agent
-- edits the cart), ended or declined. A cart has at most one open
-- (requested or active) takeover: the partial unique index refuses a
-- second, so two agents racing for one cart cannot both get it.
CREATE TABLE takeovers (
    id           TEXT PRIMARY KEY,
    cart_id      TEXT NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    store_id     TEXT NOT NULL,
    agent_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    agent_name   TEXT NOT NULL,
    shopper_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status       TEXT NOT NULL CHECK (status IN ('requested', 'active', 'ended', 'declined')),
    grant_kind   TEXT NOT NULL CHECK (grant_kind IN ('consent', 'waived', 'help_code')),
    requested_at INTEGER NOT NULL,
    started_at   INTEGER,
    ended_at     INTEGER,
    ended_by     TEXT
);
CREATE UNIQUE INDEX takeovers_open ON takeovers(cart_id) WHERE status IN ('requested', 'active');
CREATE INDEX takeovers_agent ON takeovers(agent_id, status);

-- A help code: six digits, stored as a hash, one per cart (a new one
-- replaces the old), usable once until expires_at. code_hash is unique so
-- that a code names one cart.
CREATE TABLE help_codes (
    cart_id    TEXT PRIMARY KEY REFERENCES carts(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);
