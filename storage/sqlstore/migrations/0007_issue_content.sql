-- An issue is frozen when it is created: its content (subject and the
-- laid-out email, JSON of digest.Content) is stored with it, and every
-- copy is sent from it, whatever happens to the articles afterwards.
-- Issues stored before this keep '' and are laid out from their articles.
ALTER TABLE digest_issues ADD COLUMN content text NOT NULL DEFAULT '';
