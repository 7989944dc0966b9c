-- A feed is (section or series, status = 'published', published <= now).
-- With status leading the time in the index, both the feed list (newest
-- LIMIT rows) and the feed count (every visible row, after
-- Builder.Invalidate) are one range of one index; the count never reads the
-- table (on PostgreSQL once the visibility map is set: VACUUM, see
-- PutArticles).
CREATE INDEX articles_section_status ON articles (section, status, published, id);

-- article_series carries the article's status, copied on every write (the
-- series rows are rewritten with the article), so a series feed need not
-- join articles to filter, and its count is index-only.
--sqlite ALTER TABLE article_series ADD COLUMN status TEXT NOT NULL DEFAULT '';
--sqlite UPDATE article_series SET status = (SELECT a.status FROM articles a WHERE a.id = article_series.article_id);
--postgres ALTER TABLE article_series ADD COLUMN status text;
--postgres UPDATE article_series s SET status = a.status FROM articles a WHERE a.id = s.article_id;
--postgres ALTER TABLE article_series ALTER COLUMN status SET NOT NULL;
CREATE INDEX article_series_status ON article_series (series, status, published, article_id);

--postgres ANALYZE articles, article_series;
