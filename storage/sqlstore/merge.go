package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/syndicated/syndicated/subscribers"
)

// mergeCaseDuplicates is migration 11's step: every subscriber's email_key
// becomes subscribers.Key of its address (SQL's lower() folds ASCII
// only), and the records of one key (addresses that differ only in letter
// case: one person, two copies, one of which kept receiving digests after
// the other was removed) become one, by subscribers.MergeRecords. The
// folded records' confirmation requests and digest deliveries move to the
// kept one (a delivery of an issue the kept one has too is dropped), and
// each merge is recorded in subscriber_merges.
func mergeCaseDuplicates(ctx context.Context, q db) error {
	type row struct {
		id         int64
		email, key string
	}
	rows, err := collect(func(r *sql.Rows) (row, error) {
		var x row
		var key sql.NullString
		err := r.Scan(&x.id, &x.email, &key)
		x.key = key.String
		return x, err
	})(q.query(ctx, `SELECT id, email, email_key FROM subscribers ORDER BY id`))
	if err != nil {
		return err
	}
	groups := map[string][]int64{}
	var order []string
	for _, r := range rows {
		k := subscribers.Key(r.email)
		if k != r.key {
			if _, err := q.exec(ctx, `UPDATE subscribers SET email_key = ? WHERE id = ?`, k, r.id); err != nil {
				return err
			}
		}
		if len(groups[k]) == 0 {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r.id)
	}
	now := time.Now()
	for _, k := range order {
		if ids := groups[k]; len(ids) > 1 {
			if err := mergeRecords(ctx, q, ids, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// mergeRecords folds the subscribers ids into one.
func mergeRecords(ctx context.Context, q db, ids []int64, now time.Time) error {
	recs := make([]*subscribers.Subscriber, len(ids))
	for i, id := range ids {
		sub, err := getSubscriber(ctx, q, "id", id, true)
		if err != nil {
			return err
		}
		recs[i] = sub
	}
	kept := subscribers.MergeRecords(recs)
	for _, r := range recs {
		if r.ID == kept.ID {
			continue
		}
		if _, err := q.exec(ctx, `UPDATE confirmation_outbox SET subscriber_id = ? WHERE subscriber_id = ?`, kept.ID, r.ID); err != nil {
			return err
		}
		// Issue by issue through the primary key (no index by subscriber:
		// migration 0061).
		if _, err := q.exec(ctx, `UPDATE digest_deliveries SET subscriber_id = ?
			WHERE issue_id IN (SELECT id FROM digest_issues) AND subscriber_id = ?
			AND NOT EXISTS (SELECT 1 FROM digest_deliveries k WHERE k.issue_id = digest_deliveries.issue_id AND k.subscriber_id = ?)`,
			kept.ID, r.ID, kept.ID); err != nil {
			return err
		}
		for _, stmt := range []string{
			`DELETE FROM digest_deliveries WHERE issue_id IN (SELECT id FROM digest_issues) AND subscriber_id = ?`,
			`DELETE FROM subscriptions WHERE subscriber_id = ?`,
			`DELETE FROM subscribers WHERE id = ?`,
		} {
			if _, err := q.exec(ctx, stmt, r.ID); err != nil {
				return err
			}
		}
		if _, err := q.exec(ctx, `INSERT INTO subscriber_merges (merged_at, kept_id, kept_email, merged_id, merged_email)
			VALUES (?, ?, ?, ?, ?)`, q.t(now), kept.ID, kept.Email, r.ID, r.Email); err != nil {
			return err
		}
	}
	if _, err := q.exec(ctx, `UPDATE subscribers SET bounced_at = NULL WHERE id = ? AND status <> 'bounced'`, kept.ID); err != nil {
		return err
	}
	return updateSubscriber(ctx, q, kept)
}
