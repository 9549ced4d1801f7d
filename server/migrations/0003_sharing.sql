-- Sharing: invitations by e-mail, share links, password resets, and the
-- outbox of e-mails they cause. Tokens are stored only as their SHA-256
-- (with a purpose prefix, see server/src/auth/token.rs); an e-mail's token
-- is minted by the mail worker when it sends the e-mail, so the outbox
-- never holds one either.

-- An invitation of one e-mail address to one cart.
CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    cart_id     TEXT NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    message     TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
    invited_by  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    -- NULL until the mail worker sends the first e-mail; each e-mail
    -- (resend) replaces it, so only the newest link works.
    token_hash  TEXT UNIQUE,
    accepted_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    accepted_at INTEGER,
    declined_at INTEGER,
    revoked_at  INTEGER
);
CREATE INDEX invitations_cart ON invitations(cart_id, created_at);

-- A link that makes whoever opens it a member, up to max_uses times.
CREATE TABLE share_links (
    id         TEXT PRIMARY KEY,
    cart_id    TEXT NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
    created_by TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    max_uses   INTEGER,            -- NULL: unlimited
    uses       INTEGER NOT NULL DEFAULT 0,
    revoked_at INTEGER
);
CREATE INDEX share_links_cart ON share_links(cart_id, created_at);

-- Who joined with which link: a second accept by the same user is the
-- same use, not a new one.
CREATE TABLE share_link_uses (
    link_id TEXT NOT NULL REFERENCES share_links(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at      INTEGER NOT NULL,
    PRIMARY KEY (link_id, user_id)
) WITHOUT ROWID;

-- A password reset asked for by e-mail; single-use.
CREATE TABLE password_resets (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    token_hash TEXT UNIQUE,        -- NULL until the mail worker sends it
    used_at    INTEGER
);

-- E-mails to send, written in the same transaction as what caused them.
-- The bodies hold a placeholder where the link goes; the worker mints the
-- token, stores its hash on the row named by (purpose, ref_id), and sends.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    purpose         TEXT NOT NULL CHECK (purpose IN ('invitation', 'password_reset')),
    ref_id          TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'retrying', 'failed', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,       -- NULL once sent, failed or cancelled
    last_error      TEXT,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX outbox_ref ON outbox(purpose, ref_id);
