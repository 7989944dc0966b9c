-- Migrations are shared by both backends: TIME and the other names in
-- double braces are the types of each (SQLite keeps times as UTC unix
-- microseconds, so that integer order is time order), and lines starting "--sqlite " or
-- "--postgres " belong to that backend only. doc is the whole
-- article.Article as JSON (times keep their zones there); the columns
-- beside it exist for filtering and ordering.
CREATE TABLE articles (
    id           text PRIMARY KEY,
    guid         text NOT NULL UNIQUE,
    section      text NOT NULL,
    status       text NOT NULL,
    published    {{TIME}} NOT NULL,
    updated      {{TIME}} NOT NULL,
    content_hash text NOT NULL,
    doc          {{JSON}} NOT NULL
);
-- Feed queries walk these backwards from "now" and stop after LIMIT rows.
CREATE INDEX articles_section_published ON articles (section, published, id);
CREATE INDEX articles_published ON articles (published, id);

-- One row per series an article is in, with published copied so a series
-- feed is a range scan of one index.
CREATE TABLE article_series (
    series     text NOT NULL,
    article_id text NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    published  {{TIME}} NOT NULL,
    PRIMARY KEY (series, article_id)
);
CREATE INDEX article_series_published ON article_series (series, published, article_id);
CREATE INDEX article_series_article ON article_series (article_id);

-- A deleted subscriber's id is never handed to someone else (unsubscribe
-- tokens bind the id): AUTOINCREMENT on SQLite, an identity on PostgreSQL.
CREATE TABLE subscribers (
    id                   {{ID}},
    email                text NOT NULL UNIQUE,
    name                 text NOT NULL DEFAULT '',
    status               text NOT NULL,
    consent_at           {{TIME}},
    consent_ip           text NOT NULL DEFAULT '',
    consent_user_agent   text NOT NULL DEFAULT '',
    consent_source       text NOT NULL DEFAULT '',
    created_at           {{TIME}} NOT NULL,
    confirmed_at         {{TIME}},
    unsubscribed_at      {{TIME}},
    bounce_count         integer NOT NULL DEFAULT 0,
    confirmation_sent_at {{TIME}}
);
CREATE INDEX subscribers_status ON subscribers (status, id);

CREATE TABLE subscriptions (
    subscriber_id {{BIGINT}} NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    list          text NOT NULL,
    active        {{BOOL}} NOT NULL,
    changed_at    {{TIME}} NOT NULL,
    PRIMARY KEY (subscriber_id, list)
);
CREATE INDEX subscriptions_list ON subscriptions (list, active, subscriber_id);

CREATE TABLE suppressions (
    hash       text PRIMARY KEY,
    created_at {{TIME}} NOT NULL
);
