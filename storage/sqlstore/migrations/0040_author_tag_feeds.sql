-- Author and tag feeds: one row per author slug and per tag slug of an
-- article (article.Slug of the name), with the article's published time
-- and status copied as article_series does, so that an author's or a tag's
-- feed is one range of one index. Rows of articles stored before this
-- migration are filled by its Go step (sqlstore.backfillArticleKeys):
-- slugs are Go's rules, not SQL's.
CREATE TABLE article_authors (
    slug       text NOT NULL,
    article_id text NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    published  {{TIME}} NOT NULL,
    status     text NOT NULL,
    PRIMARY KEY (slug, article_id)
);
CREATE INDEX article_authors_status ON article_authors (slug, status, published, article_id);
CREATE INDEX article_authors_article ON article_authors (article_id);

CREATE TABLE article_tags (
    slug       text NOT NULL,
    article_id text NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    published  {{TIME}} NOT NULL,
    status     text NOT NULL,
    PRIMARY KEY (slug, article_id)
);
CREATE INDEX article_tags_status ON article_tags (slug, status, published, article_id);
CREATE INDEX article_tags_article ON article_tags (article_id);

-- The change log (article.ChangeLog): one row per article a write changed,
-- under the articles revision that write bumped, naming the feeds the
-- article was in before and after (keys, one a line) and its publication
-- time before and after. A process holding built feeds reads the rows
-- after the revision it built from and drops only what they touched. Rows
-- older than the last 100,000 revisions are pruned as writes go.
CREATE TABLE article_changes (
    revision      {{BIGINT}} NOT NULL,
    article_id    text NOT NULL,
    keys          text NOT NULL,
    published_old {{TIME}},
    published_new {{TIME}} NOT NULL,
    PRIMARY KEY (revision, article_id)
);
