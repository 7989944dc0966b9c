-- Times are UTC unix microseconds so that integer order is time order; the
-- article's own zones live in doc (the whole article.Article as JSON).
CREATE TABLE articles (
    id           TEXT PRIMARY KEY,
    guid         TEXT NOT NULL UNIQUE,
    section      TEXT NOT NULL,
    status       TEXT NOT NULL,
    published    INTEGER NOT NULL,
    updated      INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    doc          TEXT NOT NULL
);
-- Feed queries walk these backwards from "now" and stop after LIMIT rows;
-- status is checked on the row since withdrawn articles are rare.
CREATE INDEX articles_section_published ON articles (section, published, id);
CREATE INDEX articles_published ON articles (published, id);

-- One row per series an article is in, with published copied so a series
-- feed is a range scan of one index.
CREATE TABLE article_series (
    series     TEXT NOT NULL,
    article_id TEXT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    published  INTEGER NOT NULL,
    PRIMARY KEY (series, article_id)
);
CREATE INDEX article_series_published ON article_series (series, published, article_id);
CREATE INDEX article_series_article ON article_series (article_id);

-- AUTOINCREMENT so a deleted subscriber's id is never handed to someone else
-- (unsubscribe tokens bind the id).
CREATE TABLE subscribers (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    email                TEXT NOT NULL UNIQUE,
    name                 TEXT NOT NULL DEFAULT '',
    status               TEXT NOT NULL,
    consent_at           INTEGER,
    consent_ip           TEXT NOT NULL DEFAULT '',
    consent_user_agent   TEXT NOT NULL DEFAULT '',
    consent_source       TEXT NOT NULL DEFAULT '',
    created_at           INTEGER NOT NULL,
    confirmed_at         INTEGER,
    unsubscribed_at      INTEGER,
    bounce_count         INTEGER NOT NULL DEFAULT 0,
    confirmation_sent_at INTEGER
);
CREATE INDEX subscribers_status ON subscribers (status, id);

CREATE TABLE subscriptions (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    list          TEXT NOT NULL,
    active        INTEGER NOT NULL,
    changed_at    INTEGER NOT NULL,
    PRIMARY KEY (subscriber_id, list)
);
CREATE INDEX subscriptions_list ON subscriptions (list, active, subscriber_id);

CREATE TABLE suppressions (
    hash       TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);
