-- The confirmation emails' outbox. A sign-up stores its confirmation here;
-- senders claim due rows (state sending with a lease in claimed_until; FOR
-- UPDATE SKIP LOCKED on PostgreSQL), send, and record the outcome: sent, or
-- pending again with a later next_attempt_at and the reason in last_error,
-- or failed for good. A crash leaves rows sending with a lease that runs
-- out, and they are claimed again. No token is kept: the link is made at
-- send time from the subscriber, the lists and issued_at. Removing a
-- subscriber removes their rows.
CREATE TABLE confirmation_outbox (
    id              {{ID}},
    subscriber_id   {{BIGINT}} NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    lists           text NOT NULL,      -- list slugs, comma-separated
    issued_at       {{TIME}} NOT NULL,  -- the link works until issued_at + confirm_ttl
    state           text NOT NULL,      -- pending, sending, sent, failed
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at {{TIME}} NOT NULL,
    claimed_until   {{TIME}},
    last_error      text NOT NULL DEFAULT '',
    sent_at         {{TIME}}
);
CREATE INDEX confirmation_outbox_due ON confirmation_outbox (state, next_attempt_at, id);
CREATE INDEX confirmation_outbox_subscriber ON confirmation_outbox (subscriber_id);
