-- Named values shared by every process using this file, written once and
-- then only read. 'hmac' is the key for signed tokens when none is
-- configured.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
