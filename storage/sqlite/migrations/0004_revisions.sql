-- Named counters that only ever go up. 'articles' is bumped in the same
-- transaction as every article write that changes something, so a process
-- sharing this file can tell from one small read that its feeds are stale.
CREATE TABLE revisions (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO revisions (name, value) VALUES ('articles', 0);
