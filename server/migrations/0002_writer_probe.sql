-- One row the writer rewrites to find out whether the disk takes writes
-- again after a failure (disk full), while no edit is waiting.
CREATE TABLE writer_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL
);
