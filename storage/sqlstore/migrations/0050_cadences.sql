-- Readers who choose how often they hear from a series (weekly, daily or
-- one email per story) and who pause their mail. A reader with no row for
-- a list gets the series' default cadence; a row naming a cadence the
-- series no longer offers counts as the default too.
--
-- covered_until is written when a reader changes cadence: the until of
-- the last issue of the list mailed to them (any cadence). The first issue
-- of the new cadence then starts after it, so no story goes out twice to
-- one reader; catch_up says that issue may also reach back to it (a reader
-- who moved to a more frequent cadence misses nothing between the two).
-- Both are cleared once an issue has included the reader.
CREATE TABLE subscription_cadences (
    subscriber_id {{BIGINT}} NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    list          text NOT NULL,
    cadence       text NOT NULL,          -- weekly, daily, story
    changed_at    {{TIME}} NOT NULL,
    covered_until {{TIME}},
    catch_up      {{BOOL}} NOT NULL DEFAULT FALSE,
    PRIMARY KEY (subscriber_id, list)
);
CREATE INDEX subscription_cadences_list ON subscription_cadences (list, cadence, subscriber_id);

-- A paused reader gets no issue of any series created before paused_until.
CREATE TABLE subscriber_pauses (
    subscriber_id {{BIGINT}} PRIMARY KEY REFERENCES subscribers (id) ON DELETE CASCADE,
    paused_until  {{TIME}} NOT NULL,
    paused_at     {{TIME}} NOT NULL
);

-- Every issue has a cadence; issues stored before this are weekly.
ALTER TABLE digest_issues ADD COLUMN cadence text NOT NULL DEFAULT 'weekly';
CREATE INDEX digest_issues_cadence ON digest_issues (series, cadence, until);

-- A recipient whose copy of an issue starts at another time than the
-- issue's since (the reader changed cadence: see covered_until): their
-- copy holds the issue's stories published after "after". Most
-- recipients have no row.
CREATE TABLE digest_cutoffs (
    issue_id      text NOT NULL REFERENCES digest_issues (id) ON DELETE CASCADE,
    subscriber_id {{BIGINT}} NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    after         {{TIME}} NOT NULL,
    PRIMARY KEY (issue_id, subscriber_id)
);

-- The welcome emails' outbox, claimed like the confirmations'.
CREATE TABLE welcome_outbox (
    id              {{ID}},
    subscriber_id   {{BIGINT}} NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    lists           text NOT NULL,        -- list slugs, comma-separated
    created_at      {{TIME}} NOT NULL,
    state           text NOT NULL,        -- pending, sending, sent, failed
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at {{TIME}} NOT NULL,
    claimed_until   {{TIME}},
    last_error      text NOT NULL DEFAULT '',
    sent_at         {{TIME}}
);
CREATE INDEX welcome_outbox_due ON welcome_outbox (state, next_attempt_at, id);
CREATE INDEX welcome_outbox_subscriber ON welcome_outbox (subscriber_id);
