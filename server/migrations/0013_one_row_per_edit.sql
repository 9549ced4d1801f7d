-- One edit writes one row, in one B-tree: the change carries its op id
-- (for idempotent retries), its activity event and the cart's figures after
-- it, instead of an applied_ops row, an activity row and an UPDATE of carts
-- beside it. The columns are NULL on rows written before this migration.
ALTER TABLE changes ADD COLUMN user_id TEXT;
ALTER TABLE changes ADD COLUMN op_id TEXT;
-- The activity event's seq: changes and the activity table (events that are
-- not changes) number their events together.
ALTER TABLE changes ADD COLUMN act_seq INTEGER;
ALTER TABLE changes ADD COLUMN at INTEGER;
ALTER TABLE changes ADD COLUMN user_name TEXT;
ALTER TABLE changes ADD COLUMN kind TEXT;
ALTER TABLE changes ADD COLUMN text TEXT;
ALTER TABLE changes ADD COLUMN subtotal INTEGER;
ALTER TABLE changes ADD COLUMN currency TEXT;
ALTER TABLE changes ADD COLUMN line_count INTEGER;

-- Op ids move into their changes. Those of changes an old snapshot trimmed
-- stay in applied_ops, which is read at load and no longer written. The
-- activity of old changes stays in the activity table: nothing links an old
-- activity row to its change.
UPDATE changes SET user_id = a.user_id, op_id = a.op_id
FROM applied_ops a WHERE a.cart_id = changes.cart_id AND a.seq = changes.seq;
DELETE FROM applied_ops
WHERE EXISTS (SELECT 1 FROM changes c WHERE c.cart_id = applied_ops.cart_id AND c.seq = applied_ops.seq);

-- The bases of each cart's document, one per epoch: the current one is the
-- highest epoch, the others are archived. An epoch's changes are those after
-- its start_seq (up to the next epoch's start_seq); its base covers every
-- change up to base_seq. Changes are never deleted.
CREATE TABLE epochs (
    cart_id    TEXT NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    epoch      INTEGER NOT NULL,
    start_seq  INTEGER NOT NULL,
    base_seq   INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    saved_at   INTEGER NOT NULL,
    -- Last, so that reading the columns before it skips its pages.
    bytes      BLOB NOT NULL,
    PRIMARY KEY (cart_id, epoch)
);
-- A snapshot becomes the base of epoch 0; the changes it trimmed are gone.
INSERT INTO epochs (cart_id, epoch, start_seq, base_seq, started_at, saved_at, bytes)
SELECT s.cart_id, 0, 0, s.upto_seq, c.created_at, c.updated_at, s.bytes
FROM snapshots s JOIN carts c ON c.id = s.cart_id;
DROP TABLE snapshots;

-- A cart's figures as of its latest change. The cart's own columns hold
-- those of carts whose latest change predates this migration (or that have
-- none), since they were updated with every change until now.
CREATE VIEW cart_figures (cart_id, subtotal, line_count, updated_at) AS
SELECT c.id,
       COALESCE(l.subtotal, c.subtotal),
       COALESCE(l.line_count, c.line_count),
       COALESCE(l.at, c.updated_at)
FROM carts c
LEFT JOIN changes l
  ON l.cart_id = c.id AND l.seq = (SELECT MAX(m.seq) FROM changes m WHERE m.cart_id = c.id);

-- The document epoch each change was made in (NULL on rows written before
-- this migration). A change depends on the one before it and on its
-- epoch's base, so the database refuses a change that would not load:
-- one whose predecessor never became durable (its commit failed), or one
-- of an epoch whose base is not the cart's current one (the base failed to
-- commit, or an older writer kept going). Rows of a multi-row INSERT are
-- checked one after another, so a batch may hold a run of one cart.
ALTER TABLE changes ADD COLUMN epoch INTEGER;
CREATE TRIGGER changes_follow_the_log BEFORE INSERT ON changes
BEGIN
    SELECT RAISE(ABORT, 'a change of another epoch than the cart''s current one')
    WHERE NEW.epoch IS NOT (SELECT MAX(e.epoch) FROM epochs e WHERE e.cart_id = NEW.cart_id);
    SELECT RAISE(ABORT, 'a change that does not follow the stored log')
    WHERE NEW.seq - 1 > (SELECT e.base_seq FROM epochs e WHERE e.cart_id = NEW.cart_id
                         ORDER BY e.epoch DESC LIMIT 1)
      AND NOT EXISTS (SELECT 1 FROM changes c WHERE c.cart_id = NEW.cart_id AND c.seq = NEW.seq - 1);
END;
