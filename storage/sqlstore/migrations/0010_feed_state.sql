-- What the feeds keep about each served document (feedstate.State): the
-- SHA-256 of its bytes, the Last-Modified those bytes are served with, and
-- when they were announced to the WebSub hub (NULL: not yet). A restart or
-- another replica serving the same bytes reads the same Last-Modified;
-- new bytes always get a later one.
CREATE TABLE feed_state (
    path          text PRIMARY KEY,
    sha256        text NOT NULL,
    last_modified {{TIME}} NOT NULL,
    last_ping     {{TIME}}
);
