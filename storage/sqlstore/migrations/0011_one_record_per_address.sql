-- One subscriber per address whatever its letter case (issue 19). The
-- address stays as typed in email, for sending; email_key (the address
-- folded to lower case, subscribers.Key) finds it. Filled here with SQL's
-- lower(), then by the migration's Go step with subscribers.Key (which
-- also folds letters beyond ASCII), which also merges records that differ
-- only in case and reports each merge in subscriber_merges. 0012 makes
-- email_key unique.
ALTER TABLE subscribers ADD COLUMN email_key text;
UPDATE subscribers SET email_key = lower(email);

-- The order of a subscriber's events (sign-up requests, confirmations,
-- unsubscribes), as their transactions ran: seconds cannot order two
-- events of one second.
ALTER TABLE subscribers ADD COLUMN event_seq {{BIGINT}} NOT NULL DEFAULT 0;
ALTER TABLE subscribers ADD COLUMN unsubscribed_seq {{BIGINT}} NOT NULL DEFAULT 0;
ALTER TABLE subscribers ADD COLUMN confirmed_seq {{BIGINT}} NOT NULL DEFAULT 0;

-- A sign-up request keeps what it would change until it is confirmed.
ALTER TABLE confirmation_outbox ADD COLUMN seq {{BIGINT}} NOT NULL DEFAULT 0;
ALTER TABLE confirmation_outbox ADD COLUMN name text NOT NULL DEFAULT '';
ALTER TABLE confirmation_outbox ADD COLUMN consent_at {{TIME}};
ALTER TABLE confirmation_outbox ADD COLUMN consent_ip text NOT NULL DEFAULT '';
ALTER TABLE confirmation_outbox ADD COLUMN consent_user_agent text NOT NULL DEFAULT '';
ALTER TABLE confirmation_outbox ADD COLUMN consent_source text NOT NULL DEFAULT '';

-- Why an address is suppressed: removed, a complaint…
ALTER TABLE suppressions ADD COLUMN reason text NOT NULL DEFAULT '';

-- Records folded into another because their addresses differ only in
-- case. Erased with the kept subscriber.
CREATE TABLE subscriber_merges (
    id           {{ID}},
    merged_at    {{TIME}} NOT NULL,
    kept_id      {{BIGINT}} NOT NULL,
    kept_email   text NOT NULL,
    merged_id    {{BIGINT}} NOT NULL,
    merged_email text NOT NULL
);
CREATE INDEX subscriber_merges_kept ON subscriber_merges (kept_id);
