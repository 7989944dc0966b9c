-- Named values shared by every process on this database, written once and
-- then only read. 'hmac' is the key for signed tokens when none is
-- configured, so that a link one replica signs verifies on every other.
CREATE TABLE settings (
    name  text PRIMARY KEY,
    value text NOT NULL
);
