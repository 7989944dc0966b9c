-- A claim takes deliveries that are due: sending with a lease that ran out,
-- then pending ones by next attempt time. With state and next_attempt_at
-- leading, and subscriber_id as the tie-break of the claim's order, each is
-- one range of this index read in order, stopping after the batch: rows
-- already sent lie in another range and are never stepped over, so a claim
-- costs the same at the end of a large send as at the start. It replaces
-- the 0003 index, whose order lacked the tie-break.
CREATE INDEX digest_deliveries_due ON digest_deliveries (issue_id, state, next_attempt_at, subscriber_id);
DROP INDEX digest_deliveries_claim;
