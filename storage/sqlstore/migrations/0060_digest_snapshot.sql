-- The digest outbox without a row per recipient until there is something
-- to record (docs/digest.md, "The outbox"). An issue's recipients are a snapshot of
-- subscriber ids in ascending order, in chunks of up to 1,000 ids (a JSON
-- array of integers as text, on both backends); a cursor hands out the
-- next positions of the snapshot to claims, each a row of digest_claims
-- with its lease. digest_deliveries gets a row only once a recipient's
-- outcome is known (sent, a retry, failed, skipped); a claim whose lease
-- ran out is taken over, and its recipients without a row are sent again.
CREATE TABLE digest_recipients (
    issue_id text NOT NULL REFERENCES digest_issues (id) ON DELETE CASCADE,
    chunk    integer NOT NULL,          -- positions chunk*1000 on
    first_id {{BIGINT}} NOT NULL,
    last_id  {{BIGINT}} NOT NULL,
    ids      text NOT NULL,             -- '[3,17,18,…]'
    PRIMARY KEY (issue_id, chunk)
);

-- One row per issue with a snapshot: how many recipients it holds, and
-- the positions handed out so far (claim_from: where the last claim
-- began, so that one UPDATE … RETURNING says which positions it took).
CREATE TABLE digest_snapshots (
    issue_id   text PRIMARY KEY REFERENCES digest_issues (id) ON DELETE CASCADE,
    total      integer NOT NULL,
    claimed_to integer NOT NULL DEFAULT 0,
    claim_from integer NOT NULL DEFAULT 0,
    created_at {{TIME}} NOT NULL
);

-- A claim: positions first_pos … first_pos+n-1 of the snapshot, whose
-- subscriber ids run from first_id to last_id, leased to claimed_by until
-- claimed_until (claimed_by '' and claimed_until NULL: handed back, due
-- now). The row is deleted once each of its recipients has a row in
-- digest_deliveries (or was erased).
CREATE TABLE digest_claims (
    issue_id      text NOT NULL REFERENCES digest_issues (id) ON DELETE CASCADE,
    first_id      {{BIGINT}} NOT NULL,
    last_id       {{BIGINT}} NOT NULL,
    first_pos     integer NOT NULL,
    n             integer NOT NULL,
    attempts      integer NOT NULL,
    claimed_by    text NOT NULL DEFAULT '',
    claimed_until {{TIME}},
    PRIMARY KEY (issue_id, first_id)
);
CREATE INDEX digest_claims_worker ON digest_claims (issue_id, claimed_by);

-- Deliveries pending or sending are now only retries (and the rows of
-- issues created before this migration, which are sent as before): the
-- claim index covers those only, so that recording a sent delivery does
-- not write an entry in it.
DROP INDEX digest_deliveries_due;
CREATE INDEX digest_deliveries_due ON digest_deliveries (issue_id, state, next_attempt_at, subscriber_id)
    WHERE state IN ('pending', 'sending');

-- Rows are now inserted as outcomes come (they were inserted with the
-- issue and updated since), and on PostgreSQL a foreign key check per
-- inserted row (a SELECT … FOR KEY SHARE, locking the referenced row and
-- writing WAL for it) cost more than the insert. Issues are never
-- deleted, and erasing a subscriber deletes their rows itself
-- (DeleteSubscriber; merging subscribers moves or deletes them); the
-- INSERT of an outcome joins subscribers, so a row is written only for a
-- subscriber who exists. SQLite checks foreign keys in-process and keeps
-- them.
--postgres ALTER TABLE digest_deliveries DROP CONSTRAINT digest_deliveries_issue_id_fkey, DROP CONSTRAINT digest_deliveries_subscriber_id_fkey;
