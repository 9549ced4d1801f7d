-- Webhooks (issue 14): the endpoints a store's owner registers, the outbox
-- of events (written in the transaction of what caused them), one send per
-- (event, endpoint) with its retry state, and the log of attempts.

CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    store_id        TEXT NOT NULL REFERENCES stores(id),
    url             TEXT NOT NULL,
    -- JSON array of event types.
    events          TEXT NOT NULL,
    -- Kept as is: it is the HMAC key of every signature.
    secret          TEXT NOT NULL,
    enabled         INTEGER NOT NULL DEFAULT 1,
    disabled_reason TEXT,
    created_at      INTEGER NOT NULL,
    failing_since   INTEGER
);
CREATE INDEX webhook_endpoints_store ON webhook_endpoints(store_id);

CREATE TABLE webhook_events (
    id         TEXT PRIMARY KEY,
    store_id   TEXT NOT NULL,
    type       TEXT NOT NULL,
    -- Set for cart events, which merge by (cart, type) while open.
    cart_id    TEXT,
    created_at INTEGER NOT NULL,
    data       TEXT NOT NULL,
    -- Debounce: later changes merge into this event until then.
    open_until INTEGER NOT NULL,
    -- Set when the first delivery is claimed: the body is final from then on.
    sealed     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhook_events_open ON webhook_events(cart_id, type) WHERE sealed = 0;

CREATE TABLE webhook_sends (
    event_id        TEXT NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    -- In flight on this node; cleared at start, so a delivery cut by a
    -- crash is retried.
    claimed         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, endpoint_id)
);
CREATE INDEX webhook_sends_due ON webhook_sends(next_attempt_at);
CREATE INDEX webhook_sends_endpoint ON webhook_sends(endpoint_id);

CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id    TEXT NOT NULL,
    type        TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    status      INTEGER,
    error       TEXT,
    at          INTEGER NOT NULL,
    duration_ms INTEGER
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts(endpoint_id, id);

-- The outbox learns one purpose: the e-mail telling a store's owners that
-- an endpoint was disabled (no token; ref_id is the endpoint's id). SQLite
-- cannot change a CHECK, so the table is rebuilt with the same rows and ids.
CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    purpose         TEXT NOT NULL CHECK (purpose IN ('invitation', 'password_reset', 'offer', 'store_share',
                                                    'deadline_reminder', 'webhook_disabled')),
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
