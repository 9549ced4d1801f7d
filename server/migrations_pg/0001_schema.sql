-- The whole schema on Postgres, as SQLite's migrations 0001-0013 left it,
-- without what those kept only for old rows (applied_ops, snapshots).
-- Times are Unix milliseconds (BIGINT), except cart leases', which use the
-- database's clock so that no node's clock decides who owns a cart.

-- Serialises the writers of a table whose change_seq or export_seq a sync
-- cursor reads, so that sequence order is commit order and a cursor never
-- skips a row that commits late.
CREATE FUNCTION cursor_lock(name TEXT) RETURNS VOID LANGUAGE sql AS
$$ SELECT pg_advisory_xact_lock(hashtext('cartroom.cursor.' || name)) $$;

CREATE FUNCTION now_ms() RETURNS BIGINT LANGUAGE sql AS
$$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT $$;

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT,
    is_guest      BOOLEAN NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE stores (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    currency         TEXT NOT NULL,
    time_zone        TEXT NOT NULL DEFAULT 'UTC',
    takeover_consent TEXT NOT NULL DEFAULT 'required'
        CHECK (takeover_consent IN ('required', 'waived_for_registered'))
);

CREATE TABLE carts (
    id            TEXT PRIMARY KEY,
    store_id      TEXT NOT NULL REFERENCES stores(id),
    name          TEXT NOT NULL,
    created_by    TEXT NOT NULL REFERENCES users(id),
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    subtotal      BIGINT NOT NULL DEFAULT 0,
    line_count    BIGINT NOT NULL DEFAULT 0,
    lock_deadline BIGINT
);
CREATE INDEX carts_lock_deadline ON carts(lock_deadline) WHERE lock_deadline IS NOT NULL;
CREATE INDEX carts_store_created ON carts(store_id, created_at);
CREATE INDEX carts_created_by ON carts(created_by);

CREATE TABLE members (
    cart_id  TEXT NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role     TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    added_at BIGINT NOT NULL,
    PRIMARY KEY (cart_id, user_id)
);
CREATE INDEX members_user ON members(user_id);

-- One row per edit: the change, its op id, its activity event and the
-- cart's figures after it.
CREATE TABLE changes (
    cart_id    TEXT NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    bytes      BYTEA NOT NULL,
    user_id    TEXT,
    op_id      TEXT,
    act_seq    BIGINT,
    at         BIGINT,
    user_name  TEXT,
    kind       TEXT,
    text       TEXT,
    subtotal   BIGINT,
    currency   TEXT,
    line_count BIGINT,
    epoch      BIGINT NOT NULL,
    PRIMARY KEY (cart_id, seq)
);

-- Activity events that are not changes (chat, membership).
CREATE TABLE activity (
    cart_id   TEXT NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    seq       BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    user_id   TEXT NOT NULL,
    user_name TEXT NOT NULL,
    kind      TEXT NOT NULL,
    text      TEXT NOT NULL,
    subtotal  BIGINT NOT NULL,
    currency  TEXT NOT NULL,
    PRIMARY KEY (cart_id, seq)
);

-- The bases of each cart's document, one per epoch (see SQLite's 0013).
CREATE TABLE epochs (
    cart_id    TEXT NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    epoch      BIGINT NOT NULL,
    start_seq  BIGINT NOT NULL,
    base_seq   BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    saved_at   BIGINT NOT NULL,
    bytes      BYTEA NOT NULL,
    PRIMARY KEY (cart_id, epoch)
);

CREATE VIEW cart_figures (cart_id, subtotal, line_count, updated_at) AS
SELECT c.id,
       COALESCE(l.subtotal, c.subtotal),
       COALESCE(l.line_count, c.line_count),
       COALESCE(l.at, c.updated_at)
FROM carts c
LEFT JOIN LATERAL (
    SELECT m.subtotal, m.line_count, m.at FROM changes m
    WHERE m.cart_id = c.id ORDER BY m.seq DESC LIMIT 1
) l ON TRUE;

-- A change must be of the cart's current epoch and follow a stored change
-- (or the epoch's base), as on SQLite.
CREATE FUNCTION changes_follow_the_log() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
    current_epoch BIGINT;
    current_base  BIGINT;
BEGIN
    SELECT e.epoch, e.base_seq INTO current_epoch, current_base
    FROM epochs e WHERE e.cart_id = NEW.cart_id ORDER BY e.epoch DESC LIMIT 1;
    IF NEW.epoch IS DISTINCT FROM current_epoch THEN
        RAISE EXCEPTION 'a change of another epoch than the cart''s current one';
    END IF;
    IF NEW.seq - 1 > current_base AND NOT EXISTS (
        SELECT 1 FROM changes c WHERE c.cart_id = NEW.cart_id AND c.seq = NEW.seq - 1
    ) THEN
        RAISE EXCEPTION 'a change that does not follow the stored log';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER changes_follow_the_log BEFORE INSERT ON changes
FOR EACH ROW EXECUTE FUNCTION changes_follow_the_log();

-- Which node runs a cart's room. `term` grows by one at every change of
-- owner; each commit of the change log checks that its node still holds
-- the lease with its term (fencing). Times are the database's clock.
CREATE TABLE cart_leases (
    cart_id     TEXT PRIMARY KEY REFERENCES carts(id) ON DELETE CASCADE,
    node        TEXT NOT NULL,
    term        BIGINT NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX cart_leases_node ON cart_leases(node);

CREATE TABLE writer_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at BIGINT NOT NULL
);

CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    cart_id     TEXT NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    message     TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
    invited_by  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    -- NULL until the mail worker sends the first e-mail; each e-mail
    -- (resend) replaces it, so only the newest link works.
    token_hash  TEXT UNIQUE,
    accepted_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    accepted_at BIGINT,
    declined_at BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX invitations_cart ON invitations(cart_id, created_at);

CREATE TABLE share_links (
    id         TEXT PRIMARY KEY,
    cart_id    TEXT NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
    created_by TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    max_uses   BIGINT,            -- NULL: unlimited
    uses       BIGINT NOT NULL DEFAULT 0,
    revoked_at BIGINT
);
CREATE INDEX share_links_cart ON share_links(cart_id, created_at);

CREATE TABLE share_link_uses (
    link_id TEXT NOT NULL REFERENCES share_links(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at      BIGINT NOT NULL,
    PRIMARY KEY (link_id, user_id)
);

CREATE TABLE share_link_opens (
    link_id TEXT NOT NULL REFERENCES share_links(id) ON DELETE CASCADE,
    bucket  BIGINT NOT NULL,       -- the quarter hour's start, Unix ms
    opens   BIGINT NOT NULL,
    PRIMARY KEY (link_id, bucket)
);

CREATE TABLE password_resets (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    token_hash TEXT UNIQUE,        -- NULL until the mail worker sends it
    used_at    BIGINT
);

CREATE TABLE outbox (
    id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    purpose         TEXT NOT NULL CHECK (purpose IN ('invitation', 'password_reset', 'offer', 'store_share',
                                                    'deadline_reminder', 'webhook_disabled')),
    ref_id          TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'retrying', 'failed', 'cancelled')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_error      TEXT,
    sent_at         BIGINT,
    -- Being sent by a node until then (Unix ms; 0 when not): a node that
    -- dies mid-send releases it by time, and no two nodes send one e-mail.
    claimed_until   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX outbox_ref ON outbox(purpose, ref_id);

CREATE TABLE store_checkout (
    store_id      TEXT PRIMARY KEY,
    approval_over BIGINT
);

CREATE TABLE shipping_rates (
    store_id  TEXT NOT NULL,
    country   TEXT NOT NULL,
    price     BIGINT NOT NULL CHECK (price >= 0),
    free_over BIGINT,
    PRIMARY KEY (store_id, country)
);
-- The demo store's rates, as SQLite's migration 0004 seeds them.
INSERT INTO shipping_rates (store_id, country, price, free_over) VALUES
    ('demo', 'US', 499, 5000),
    ('demo', '*', 1499, NULL);

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
    subtotal        BIGINT NOT NULL,
    shipping        BIGINT NOT NULL,
    total           BIGINT NOT NULL,
    split           TEXT NOT NULL,
    addresses       TEXT NOT NULL,
    cart_synced     BOOLEAN NOT NULL DEFAULT FALSE,
    placed_at       BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    export_seq      BIGINT
);
CREATE UNIQUE INDEX orders_one_live_per_cart ON orders(cart_id) WHERE status <> 'cancelled';
CREATE INDEX orders_store ON orders(store_id, placed_at);
CREATE INDEX orders_unsynced ON orders(cart_synced) WHERE NOT cart_synced;
CREATE UNIQUE INDEX orders_export_seq ON orders(export_seq);
CREATE INDEX orders_store_export ON orders(store_id, export_seq);

CREATE FUNCTION orders_export_sequence() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cursor_lock('orders');
    NEW.export_seq := (SELECT COALESCE(MAX(export_seq), 0) FROM orders) + 1;
    RETURN NEW;
END $$;
CREATE TRIGGER orders_export_sequence BEFORE INSERT ON orders
FOR EACH ROW EXECUTE FUNCTION orders_export_sequence();

CREATE TABLE order_lines (
    order_id   TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    sku        TEXT NOT NULL,
    name       TEXT NOT NULL,
    unit_price BIGINT NOT NULL,
    quantity   BIGINT NOT NULL CHECK (quantity > 0),
    line_total BIGINT NOT NULL,
    owner      TEXT NOT NULL,
    owner_name TEXT NOT NULL,
    PRIMARY KEY (order_id, sku)
);

CREATE TABLE order_shares (
    order_id     TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    amount       BIGINT NOT NULL CHECK (amount >= 0),
    provider     TEXT NOT NULL,
    reference    TEXT NOT NULL,
    instructions TEXT NOT NULL,
    paid_at      BIGINT,
    PRIMARY KEY (order_id, user_id)
);

CREATE TABLE offers (
    id           TEXT PRIMARY KEY,
    cart_id      TEXT NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    message      TEXT NOT NULL,
    sent_by      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    token_hash   TEXT UNIQUE,
    accepted_by  TEXT REFERENCES users(id) ON DELETE SET NULL,
    accepted_at  BIGINT,
    accepted_as  TEXT CHECK (accepted_as IN ('live', 'copy')),
    copy_cart_id TEXT
);
CREATE INDEX offers_cart ON offers(cart_id, created_at);

CREATE TABLE store_sharing (
    store_id        TEXT PRIMARY KEY,
    customer_shares BOOLEAN NOT NULL DEFAULT FALSE
);
-- The demo store takes the carts its customers share (SQLite's 0005).
INSERT INTO store_sharing (store_id, customer_shares) VALUES ('demo', TRUE);

CREATE TABLE store_shares (
    id         TEXT PRIMARY KEY,
    store_id   TEXT NOT NULL,
    cart_id    TEXT NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    shared_by  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    message    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX store_shares_store ON store_shares(store_id, created_at);

CREATE TABLE account_totp (
    user_id    TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret     TEXT NOT NULL,
    enabled    BOOLEAN NOT NULL DEFAULT FALSE,
    last_step  BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE totp_recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE products (
    store_id        TEXT NOT NULL REFERENCES stores(id),
    sku             TEXT NOT NULL,
    name            TEXT NOT NULL,
    price           BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    stock           BIGINT NOT NULL,
    color           TEXT NOT NULL,
    group_buy_min   BIGINT,
    group_buy_price BIGINT,
    position        BIGINT NOT NULL,
    image_url       TEXT,
    unlisted_at     BIGINT,
    updated_at      BIGINT NOT NULL DEFAULT 0,
    change_seq      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, sku)
);
CREATE INDEX products_change_seq ON products(change_seq);
CREATE INDEX products_store_change ON products(store_id, change_seq);

-- Every insert, and every update of what a sync reads, takes the next
-- change_seq; updated_at is now unless the statement set it.
CREATE FUNCTION products_sequence() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.name, NEW.price, NEW.currency, NEW.stock, NEW.group_buy_min,
            NEW.group_buy_price, NEW.image_url, NEW.unlisted_at)
        IS NOT DISTINCT FROM (OLD.name, OLD.price, OLD.currency, OLD.stock, OLD.group_buy_min,
            OLD.group_buy_price, OLD.image_url, OLD.unlisted_at) THEN
        RETURN NEW;
    END IF;
    PERFORM cursor_lock('products');
    NEW.change_seq := (SELECT COALESCE(MAX(change_seq), 0) FROM products) + 1;
    IF (TG_OP = 'INSERT' AND NEW.updated_at = 0)
        OR (TG_OP = 'UPDATE' AND NEW.updated_at = OLD.updated_at) THEN
        NEW.updated_at := now_ms();
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER products_sequence BEFORE INSERT OR UPDATE ON products
FOR EACH ROW EXECUTE FUNCTION products_sequence();

CREATE TABLE store_staff (
    store_id        TEXT NOT NULL REFERENCES stores(id),
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('owner', 'agent')),
    customer_update BOOLEAN NOT NULL DEFAULT FALSE,
    added_by        TEXT,
    added_at        BIGINT NOT NULL,
    PRIMARY KEY (store_id, user_id)
);
CREATE INDEX store_staff_user ON store_staff(user_id);

CREATE TABLE customers (
    id          TEXT PRIMARY KEY,
    store_id    TEXT NOT NULL REFERENCES stores(id),
    user_id     TEXT REFERENCES users(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    email       TEXT,
    phone       TEXT,
    created_at  BIGINT NOT NULL,
    external_id TEXT,
    updated_at  BIGINT NOT NULL DEFAULT 0,
    change_seq  BIGINT NOT NULL DEFAULT 0,
    UNIQUE (store_id, user_id)
);
CREATE INDEX customers_user ON customers(user_id);
CREATE INDEX customers_change_seq ON customers(change_seq);
CREATE INDEX customers_store_change ON customers(store_id, change_seq);
CREATE UNIQUE INDEX customers_unlinked_email ON customers(store_id, email) WHERE user_id IS NULL;

CREATE FUNCTION customers_sequence() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.user_id, NEW.name, NEW.email, NEW.phone, NEW.external_id)
        IS NOT DISTINCT FROM (OLD.user_id, OLD.name, OLD.email, OLD.phone, OLD.external_id) THEN
        RETURN NEW;
    END IF;
    PERFORM cursor_lock('customers');
    NEW.change_seq := (SELECT COALESCE(MAX(change_seq), 0) FROM customers) + 1;
    IF TG_OP = 'INSERT' AND NEW.updated_at = 0 THEN
        NEW.updated_at := NEW.created_at;
    ELSIF TG_OP = 'UPDATE' AND NEW.updated_at = OLD.updated_at THEN
        NEW.updated_at := now_ms();
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER customers_sequence BEFORE INSERT OR UPDATE ON customers
FOR EACH ROW EXECUTE FUNCTION customers_sequence();

-- A store's customer known only by e-mail becomes the account that signs
-- up (or a guest upgrades) with that e-mail, keeping its external id.
-- The customers cursor lock comes first, as for every writer of customers
-- (an import reads accounts by e-mail under it): a customer imported while
-- the account commits is then seen by one of the two, never by neither.
CREATE FUNCTION customers_link_user() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.email IS NULL OR (TG_OP = 'UPDATE' AND NEW.email IS NOT DISTINCT FROM OLD.email) THEN
        RETURN NEW;
    END IF;
    PERFORM cursor_lock('customers');
    IF TG_OP = 'UPDATE' THEN
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
    END IF;
    UPDATE customers SET user_id = NEW.id WHERE user_id IS NULL AND email = NEW.email;
    RETURN NEW;
END $$;
CREATE TRIGGER customers_link_user AFTER INSERT OR UPDATE OF email ON users
FOR EACH ROW EXECUTE FUNCTION customers_link_user();

CREATE TABLE conversations (
    id                TEXT PRIMARY KEY,
    customer_id       TEXT NOT NULL UNIQUE REFERENCES customers(id) ON DELETE CASCADE,
    store_id          TEXT NOT NULL REFERENCES stores(id),
    user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status            TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    last_seq          BIGINT NOT NULL DEFAULT 0,
    last_message_seq  BIGINT NOT NULL DEFAULT 0,
    agents_read_seq   BIGINT NOT NULL DEFAULT 0,
    customer_read_seq BIGINT NOT NULL DEFAULT 0,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX conversations_store ON conversations(store_id, updated_at);
CREATE INDEX conversations_user ON conversations(user_id);

CREATE TABLE support_messages (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq             BIGINT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('customer', 'agent', 'tip')),
    author_id       TEXT,
    author_name     TEXT NOT NULL,
    text            TEXT NOT NULL,
    cart_id         TEXT,
    at              BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);

CREATE TABLE takeovers (
    id           TEXT PRIMARY KEY,
    cart_id      TEXT NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    store_id     TEXT NOT NULL,
    agent_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    agent_name   TEXT NOT NULL,
    shopper_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status       TEXT NOT NULL CHECK (status IN ('requested', 'active', 'ended', 'declined')),
    grant_kind   TEXT NOT NULL CHECK (grant_kind IN ('consent', 'waived', 'help_code')),
    requested_at BIGINT NOT NULL,
    started_at   BIGINT,
    ended_at     BIGINT,
    ended_by     TEXT
);
CREATE UNIQUE INDEX takeovers_open ON takeovers(cart_id) WHERE status IN ('requested', 'active');
CREATE INDEX takeovers_agent ON takeovers(agent_id, status);

CREATE TABLE help_codes (
    cart_id    TEXT PRIMARY KEY REFERENCES carts(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);

CREATE TABLE store_api_keys (
    id           TEXT PRIMARY KEY,
    store_id     TEXT NOT NULL REFERENCES stores(id),
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX store_api_keys_store ON store_api_keys(store_id, created_at);

CREATE TABLE store_idempotency (
    store_id    TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      BIGINT,
    body        BYTEA,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (store_id, key)
);
CREATE INDEX store_idempotency_expiry ON store_idempotency(expires_at);

CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    store_id        TEXT NOT NULL REFERENCES stores(id),
    url             TEXT NOT NULL,
    -- JSON array of event types.
    events          TEXT NOT NULL,
    -- Kept as is: it is the HMAC key of every signature.
    secret          TEXT NOT NULL,
    enabled         BOOLEAN NOT NULL DEFAULT TRUE,
    disabled_reason TEXT,
    created_at      BIGINT NOT NULL,
    failing_since   BIGINT
);
CREATE INDEX webhook_endpoints_store ON webhook_endpoints(store_id);

CREATE TABLE webhook_events (
    id         TEXT PRIMARY KEY,
    store_id   TEXT NOT NULL,
    type       TEXT NOT NULL,
    -- Set for cart events, which merge by (cart, type) while open.
    cart_id    TEXT,
    created_at BIGINT NOT NULL,
    data       TEXT NOT NULL,
    -- Debounce: later changes merge into this event until then.
    open_until BIGINT NOT NULL,
    -- Set when the first delivery is claimed: the body is final from then on.
    sealed     BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX webhook_events_open ON webhook_events(cart_id, type) WHERE NOT sealed;

CREATE TABLE webhook_sends (
    event_id        TEXT NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    -- In flight: the claim expires, so a delivery cut by a node's crash is
    -- retried by any node (claimed_until, Unix ms of the database's clock;
    -- 0 when not claimed). claimed_by: the presence key of the claiming
    -- node, whose claims lapse at once when it leaves (store::postgres::
    -- webhooks::claims).
    claimed_until   BIGINT NOT NULL DEFAULT 0,
    claimed_by      BIGINT,
    PRIMARY KEY (event_id, endpoint_id)
);
CREATE INDEX webhook_sends_due ON webhook_sends(next_attempt_at);
CREATE INDEX webhook_sends_endpoint ON webhook_sends(endpoint_id);

CREATE TABLE webhook_attempts (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id    TEXT NOT NULL,
    type        TEXT NOT NULL,
    attempt     BIGINT NOT NULL,
    status      BIGINT,
    error       TEXT,
    at          BIGINT NOT NULL,
    duration_ms BIGINT
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts(endpoint_id, id);
