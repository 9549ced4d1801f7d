-- Changes move into a rowid table keyed by cart number × 2^32 + seq.
--
-- The old `changes` table was WITHOUT ROWID, keyed by (cart id, seq), with
-- ~480-byte rows: SQLite stores such a table as an index B-tree, whose full
-- leaves are always rebalanced with their siblings (four pages rewritten),
-- one commit in three at one edit per commit. In a rowid table an append
-- past the last key splits off a new leaf instead (two pages), and a cart's
-- changes append at its number's end of the key space: the newest carts,
-- the ones being edited, append at the end of the tree.
--
-- The new table has no foreign key and its checks fail with FAIL, not
-- ABORT: a multi-row INSERT then needs no statement journal (SQLite keeps
-- one, spilled to a temporary file under load, when a statement writing
-- several rows may abort half-way). The writer throws away the whole
-- transaction on any failure anyway. A cart's deletion deletes its changes
-- (trigger `carts_delete_their_changes`).

-- Every cart gets a number, once: existing carts their rowid, new ones the
-- next number (a rowid may change on VACUUM; a number never does).
ALTER TABLE carts ADD COLUMN num INTEGER;
UPDATE carts SET num = rowid;
CREATE UNIQUE INDEX carts_by_num ON carts (num);
CREATE TRIGGER carts_get_a_number AFTER INSERT ON carts WHEN NEW.num IS NULL
BEGIN
    UPDATE carts SET num = (SELECT IFNULL(MAX(num), 0) + 1 FROM carts) WHERE id = NEW.id;
END;

CREATE TABLE change_log (
    -- carts.num << 32 | seq; seq is 1 to 2^32 - 1.
    key        INTEGER PRIMARY KEY,
    epoch      INTEGER,
    bytes      BLOB NOT NULL,
    user_id    TEXT,
    op_id      TEXT,
    act_seq    INTEGER,
    at         INTEGER,
    user_name  TEXT,
    kind       TEXT,
    text       TEXT,
    subtotal   INTEGER,
    currency   TEXT,
    line_count INTEGER
);
INSERT INTO change_log (key, epoch, bytes, user_id, op_id, act_seq, at, user_name, kind, text,
                        subtotal, currency, line_count)
SELECT (c.num << 32) | ch.seq, ch.epoch, ch.bytes, ch.user_id, ch.op_id, ch.act_seq, ch.at,
       ch.user_name, ch.kind, ch.text, ch.subtotal, ch.currency, ch.line_count
FROM changes ch JOIN carts c ON c.id = ch.cart_id;

DROP VIEW cart_figures;
DROP TRIGGER changes_follow_the_log;
DROP TABLE changes;

-- The log as (cart id, seq) rows, as the Postgres schema has it, for
-- reading and writing by hand (and fixtures shared by both backends): it
-- scans the whole log. The server reads `change_log` by key range.
CREATE VIEW changes (cart_id, seq, epoch, bytes, user_id, op_id, act_seq, at, user_name, kind,
                     text, subtotal, currency, line_count) AS
SELECT c.id, l.key & 4294967295, l.epoch, l.bytes, l.user_id, l.op_id, l.act_seq, l.at,
       l.user_name, l.kind, l.text, l.subtotal, l.currency, l.line_count
FROM change_log l JOIN carts c ON c.num = l.key >> 32;
CREATE TRIGGER changes_write_the_log INSTEAD OF INSERT ON changes
BEGIN
    INSERT INTO change_log (key, epoch, bytes, user_id, op_id, act_seq, at, user_name, kind,
                            text, subtotal, currency, line_count)
    VALUES ((SELECT num FROM carts WHERE id = NEW.cart_id) << 32
              | CASE WHEN NEW.seq BETWEEN 1 AND 4294967295 THEN NEW.seq END,
            NEW.epoch, NEW.bytes, NEW.user_id, NEW.op_id, NEW.act_seq, NEW.at, NEW.user_name,
            NEW.kind, NEW.text, NEW.subtotal, NEW.currency, NEW.line_count);
END;

-- A cart's figures as of its latest change (see 0013).
CREATE VIEW cart_figures (cart_id, subtotal, line_count, updated_at) AS
SELECT c.id,
       COALESCE(l.subtotal, c.subtotal),
       COALESCE(l.line_count, c.line_count),
       COALESCE(l.at, c.updated_at)
FROM carts c
LEFT JOIN change_log l
  ON l.key = (SELECT m.key FROM change_log m
              WHERE m.key > c.num << 32 AND m.key < (c.num + 1) << 32
              ORDER BY m.key DESC LIMIT 1);

CREATE TRIGGER carts_delete_their_changes AFTER DELETE ON carts
BEGIN
    DELETE FROM change_log WHERE key > OLD.num << 32 AND key < (OLD.num + 1) << 32;
END;

-- The database refuses a change that would not load (see 0013): one of no
-- cart (or whose seq is out of range: the writer gives its key as NULL,
-- which a BEFORE trigger sees as -1), one of another epoch than the cart's
-- current one, or one whose predecessor is not in the log.
CREATE TRIGGER change_log_follows BEFORE INSERT ON change_log
BEGIN
    SELECT RAISE(FAIL, 'a change of no cart, or with a seq out of range')
    WHERE NEW.key < 4294967296;
    SELECT RAISE(FAIL, 'a change of another epoch than the cart''s current one')
    WHERE NEW.epoch IS NOT (SELECT MAX(e.epoch) FROM carts c JOIN epochs e ON e.cart_id = c.id
                            WHERE c.num = NEW.key >> 32);
    SELECT RAISE(FAIL, 'a change that does not follow the stored log')
    WHERE (NEW.key & 4294967295) - 1 > (SELECT e.base_seq FROM carts c JOIN epochs e ON e.cart_id = c.id
                                        WHERE c.num = NEW.key >> 32 ORDER BY e.epoch DESC LIMIT 1)
      AND NOT EXISTS (SELECT 1 FROM change_log l WHERE l.key = NEW.key - 1);
END;
