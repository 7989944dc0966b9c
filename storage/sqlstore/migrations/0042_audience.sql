-- Feed audience (package feeds/audience). audience_reports keeps the
-- latest subscriber count each aggregator reported for a feed (per feed id
-- and format it polls); audience_days one HyperLogLog sketch per feed and
-- day of the hashes of the day's distinct other clients (registers only:
-- no address, agent or hash is kept), merged by every replica;
-- audience_keys the key of each day's hash, shared by the replicas and
-- deleted once the day is over, so that a day's hashes cannot be linked
-- to another day's.
CREATE TABLE audience_reports (
    feed        text NOT NULL,
    aggregator  text NOT NULL,
    ident       text NOT NULL,
    subscribers integer NOT NULL,
    reported_at {{TIME}} NOT NULL,
    PRIMARY KEY (feed, aggregator, ident)
);

CREATE TABLE audience_days (
    feed   text NOT NULL,
    day    text NOT NULL,          -- YYYY-MM-DD in the newsroom's zone
    sketch text NOT NULL,          -- base64 of the HyperLogLog sketch
    PRIMARY KEY (feed, day)
);
CREATE INDEX audience_days_day ON audience_days (day);

CREATE TABLE audience_keys (
    day text PRIMARY KEY,
    key text NOT NULL
);
