-- Two-factor sign-in (TOTP, RFC 6238) for any account; the store's staff
-- are the ones meant to use it.

-- One row per account that has enrolled: the shared secret (base32, stored
-- as is: see docs/operations.md "Security"), whether a first code confirmed
-- it (a pending enrolment is replaced by the next one), and the last time
-- step a code was accepted for, so that no step is accepted twice.
CREATE TABLE account_totp (
    user_id    TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret     TEXT NOT NULL,
    enabled    INTEGER NOT NULL DEFAULT 0,
    last_step  INTEGER,
    created_at INTEGER NOT NULL
);

-- Single-use recovery codes, known only by their SHA-256 hash.
CREATE TABLE totp_recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (user_id, code_hash)
);
