-- The built-in WebSub hub (feeds.hub = "builtin"). A subscription is a
-- verified (topic, callback) with its secret and lease; websub_contents
-- holds the latest content of each topic somebody subscribes to, and
-- websub_deliveries one row per subscription: the content (by SHA-256) it
-- is to get next, claimed by one replica's worker under a lease, retried
-- with backoff. A new version of a topic replaces what a subscription was
-- to get (a subscriber behind gets the latest full content once), and the
-- same version queued by a second replica changes nothing, so each change
-- is distributed once.
CREATE TABLE websub_subscriptions (
    id            {{ID}},
    topic         text NOT NULL,
    callback      text NOT NULL,
    secret        text NOT NULL DEFAULT '',
    lease_seconds integer NOT NULL,
    expires_at    {{TIME}} NOT NULL,
    created_at    {{TIME}} NOT NULL,
    UNIQUE (topic, callback)
);
CREATE INDEX websub_subscriptions_expiry ON websub_subscriptions (expires_at);

CREATE TABLE websub_contents (
    topic        text PRIMARY KEY,
    sha256       text NOT NULL,
    content_type text NOT NULL,
    body         text NOT NULL,
    updated_at   {{TIME}} NOT NULL
);

CREATE TABLE websub_deliveries (
    subscription_id {{BIGINT}} PRIMARY KEY REFERENCES websub_subscriptions (id) ON DELETE CASCADE,
    sha256          text NOT NULL,
    state           text NOT NULL,      -- pending, sending, done, failed
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at {{TIME}} NOT NULL,
    claimed_by      text NOT NULL DEFAULT '',
    claimed_until   {{TIME}},
    last_error      text NOT NULL DEFAULT '',
    queued_at       {{TIME}} NOT NULL
);
CREATE INDEX websub_deliveries_due ON websub_deliveries (state, next_attempt_at);
