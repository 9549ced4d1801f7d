-- The store owner's analytics (docs/protocol.md section 16) are counted from
-- the tables that hold the carts, members, activity, orders, invitations and
-- share links. Only the opens of a share link's page were stored nowhere:
-- they are counted here, per link and per quarter hour, so that a day in
-- any store's time zone (every offset is a multiple of 15 minutes) adds up
-- whole buckets, and a link that is opened all day long still has at most
-- 96 rows a day.
CREATE TABLE share_link_opens (
    link_id TEXT NOT NULL REFERENCES share_links(id) ON DELETE CASCADE,
    bucket  INTEGER NOT NULL,       -- the quarter hour's start, Unix ms
    opens   INTEGER NOT NULL,
    PRIMARY KEY (link_id, bucket)
) WITHOUT ROWID;

-- A store's carts by creation time: every cart figure starts from them.
CREATE INDEX carts_store_created ON carts(store_id, created_at);
