-- The weekly digest's outbox. An issue is one series' digest for one ISO
-- week; creating it snapshots its recipients as pending deliveries in the
-- same transaction. Workers claim deliveries (state sending with a lease in
-- claimed_until; FOR UPDATE SKIP LOCKED on PostgreSQL) before the SMTP
-- transaction and record the outcome after, so a crash leaves rows sending
-- with a lease that runs out, and another worker picks them up again.
CREATE TABLE digest_issues (
    id          text PRIMARY KEY,       -- 'shanghai-70th/2019-W17'
    series      text NOT NULL,
    week        text NOT NULL,          -- '2019-W17'
    since       {{TIME}} NOT NULL,      -- articles published after since …
    until       {{TIME}} NOT NULL,      -- … and at or before until
    created_at  {{TIME}} NOT NULL,
    status      text NOT NULL,          -- sending, sent
    finished_at {{TIME}}
);
CREATE INDEX digest_issues_series ON digest_issues (series, until);
CREATE INDEX digest_issues_status ON digest_issues (status, created_at);

CREATE TABLE digest_deliveries (
    issue_id        text NOT NULL REFERENCES digest_issues (id) ON DELETE CASCADE,
    subscriber_id   {{BIGINT}} NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    state           text NOT NULL,      -- pending, sending, sent, failed, skipped
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at {{TIME}} NOT NULL,
    claimed_by      text NOT NULL DEFAULT '',
    claimed_until   {{TIME}},
    last_error      text NOT NULL DEFAULT '',
    message_id      text NOT NULL DEFAULT '',
    sent_at         {{TIME}},
    PRIMARY KEY (issue_id, subscriber_id)
);
CREATE INDEX digest_deliveries_claim ON digest_deliveries (issue_id, state, next_attempt_at);
CREATE INDEX digest_deliveries_subscriber ON digest_deliveries (subscriber_id);
