-- The weekly digest's outbox. An issue is one series' digest for one ISO
-- week; creating it snapshots its recipients as pending deliveries in the
-- same transaction. Workers claim deliveries (state sending, a lease in
-- claimed_until) before the SMTP transaction and record the outcome after,
-- so a crash leaves rows sending with a lease that runs out and another
-- worker picks them up again. Times are UTC unix microseconds.
CREATE TABLE digest_issues (
    id          TEXT PRIMARY KEY,       -- "shanghai-70th/2019-W17"
    series      TEXT NOT NULL,
    week        TEXT NOT NULL,          -- "2019-W17"
    since       INTEGER NOT NULL,       -- articles published after since …
    until       INTEGER NOT NULL,       -- … and at or before until
    created_at  INTEGER NOT NULL,
    status      TEXT NOT NULL,          -- sending, sent
    finished_at INTEGER
);
CREATE INDEX digest_issues_series ON digest_issues (series, until);
CREATE INDEX digest_issues_status ON digest_issues (status, created_at);

CREATE TABLE digest_deliveries (
    issue_id        TEXT NOT NULL REFERENCES digest_issues (id) ON DELETE CASCADE,
    subscriber_id   INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    state           TEXT NOT NULL,      -- pending, sending, sent, failed, skipped
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_by      TEXT NOT NULL DEFAULT '',
    claimed_until   INTEGER,
    last_error      TEXT NOT NULL DEFAULT '',
    message_id      TEXT NOT NULL DEFAULT '',
    sent_at         INTEGER,
    PRIMARY KEY (issue_id, subscriber_id)
);
CREATE INDEX digest_deliveries_claim ON digest_deliveries (issue_id, state, next_attempt_at);
CREATE INDEX digest_deliveries_subscriber ON digest_deliveries (subscriber_id);
