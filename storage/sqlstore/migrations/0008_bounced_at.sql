-- When the digest sender marked a subscriber bounced, so that
-- "subscribers unbounce --all-since TIME" can undo the bounces of one bad
-- run. Bounces recorded before this migration (and imported ones) have
-- none and are undone by address only.
ALTER TABLE subscribers ADD COLUMN bounced_at {{TIME}};
