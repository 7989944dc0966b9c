-- Named counters that only ever go up. 'articles' is bumped in the same
-- transaction as every article write that changes something, so processes
-- sharing the database know from one small read when the feeds they hold in
-- memory are stale. Every changing article write updates this one row,
-- which serialises article writers at commit; a newsroom writes a few
-- articles a minute, so that costs nothing worth a more elaborate scheme.
CREATE TABLE revisions (
    name  text PRIMARY KEY,
    value {{BIGINT}} NOT NULL
);
INSERT INTO revisions (name, value) VALUES ('articles', 0);
