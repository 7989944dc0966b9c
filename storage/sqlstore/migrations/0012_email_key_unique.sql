-- After 0011 merged the records that differed only in case.
CREATE UNIQUE INDEX subscribers_identity ON subscribers (email_key);
