package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/subscribers"
)

// SubscriberCounts counts subscribers by status (one index-only scan of
// subscribers_status), for the metrics.
func (s *Store) SubscriberCounts(ctx context.Context) (map[subscribers.Status]int, error) {
	out, err := countBy[subscribers.Status](s.read().query(ctx, `SELECT status, COUNT(*) FROM subscribers GROUP BY status`))
	if err != nil {
		return nil, fmt.Errorf("count subscribers by status: %w", err)
	}
	return out, nil
}

// countBy reads the rows of a "SELECT key, COUNT(*) … GROUP BY key" query.
func countBy[K ~string](rows *sql.Rows, err error) (map[K]int, error) {
	out := map[K]int{}
	_, err = collect(func(r *sql.Rows) (int, error) {
		var k K
		var n int
		err := r.Scan(&k, &n)
		out[k] = n
		return n, err
	})(rows, err)
	return out, err
}

// OpenDeliveryCounts counts the deliveries of the issues still being sent
// (status sending) by state, and how many of them a worker could claim at
// now: pending ones whose next attempt has come and sending ones whose
// lease ran out. Finished issues are not read, so the cost follows the
// open issues only (ranges of digest_deliveries_due, and the cursors and
// claims of their snapshots).
func (s *Store) OpenDeliveryCounts(ctx context.Context, now time.Time) (byState map[digest.State]int, due int, err error) {
	byState = map[digest.State]int{}
	q := s.read()
	_, err = collect(func(r *sql.Rows) (int, error) {
		var st digest.State
		var n, d int
		err := r.Scan(&st, &n, &d)
		byState[st] += n
		due += d
		return n, err
	})(q.query(ctx, `SELECT d.state, COUNT(*),
		COALESCE(SUM(CASE WHEN (d.state = 'pending' AND d.next_attempt_at <= ?) OR (d.state = 'sending' AND d.claimed_until <= ?) THEN 1 ELSE 0 END), 0)
		FROM digest_issues i JOIN digest_deliveries d ON d.issue_id = i.id
		WHERE i.status = 'sending' GROUP BY d.state`, q.t(now), q.t(now)))
	if err != nil {
		return nil, 0, fmt.Errorf("count open deliveries: %w", err)
	}
	// The snapshots' recipients without a row, from the cursors and the
	// claims (a few rows an issue, not one a recipient): positions not
	// yet claimed are pending and due; a claim counts as many deliveries
	// as it took, sending (pending when handed back), due once its lease
	// ran out, less its recipients that have a row (counted by state
	// above). A recipient erased since the snapshot counts until a claim
	// finds it gone.
	var unclaimed, held, back, lapsed int
	err = q.row(ctx, `SELECT COALESCE(SUM(sn.total - sn.claimed_to), 0) FROM digest_issues i
		JOIN digest_snapshots sn ON sn.issue_id = i.id WHERE i.status = 'sending'`).Scan(&unclaimed)
	if err == nil {
		err = q.row(ctx, `SELECT COALESCE(SUM(CASE WHEN c.claimed_by <> '' THEN c.n - c.recorded ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN c.claimed_by = '' THEN c.n - c.recorded ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN c.claimed_by <> '' AND c.claimed_until <= ? THEN c.n - c.recorded ELSE 0 END), 0)
			FROM (SELECT c.n, c.claimed_by, c.claimed_until, (SELECT COUNT(*) FROM digest_deliveries d
					WHERE d.issue_id = c.issue_id AND d.subscriber_id BETWEEN c.first_id AND c.last_id) AS recorded
				FROM digest_issues i JOIN digest_claims c ON c.issue_id = i.id WHERE i.status = 'sending') c`, q.t(now)).
			Scan(&held, &back, &lapsed)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("count open deliveries: %w", err)
	}
	if unclaimed+back > 0 {
		byState[digest.StatePending] += unclaimed + back
	}
	if held > 0 {
		byState[digest.StateSending] += held
	}
	due += unclaimed + back + lapsed
	return byState, due, nil
}

// SummarizeDeliveries implements digest.Store: three aggregate queries
// over the issue's rows, whatever their number, and the recipients of its
// snapshot that have none yet, a chunk at a time.
func (s *Store) SummarizeDeliveries(ctx context.Context, issueID string, now time.Time) (*digest.IssueReport, error) {
	q := s.read()
	r := &digest.IssueReport{}
	var err error
	if r.Counts, err = countBy[digest.State](q.query(ctx, `SELECT state, COUNT(*) FROM digest_deliveries WHERE issue_id = ? GROUP BY state`, issueID)); err != nil {
		return nil, fmt.Errorf("summarize deliveries of %s: %w", issueID, err)
	}
	var maxTries sql.NullInt64
	err = q.row(ctx, `SELECT
		COALESCE(SUM(CASE WHEN state = 'pending' AND next_attempt_at > ? THEN 1 ELSE 0 END), 0),
		MIN(CASE WHEN state = 'pending' AND next_attempt_at > ? THEN next_attempt_at END),
		COALESCE(SUM(CASE WHEN state = 'pending' AND next_attempt_at <= ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN state = 'sending' THEN 1 ELSE 0 END), 0),
		MAX(CASE WHEN state = 'sending' THEN claimed_until END),
		MAX(CASE WHEN state IN ('pending', 'sending') THEN attempts END)
		FROM digest_deliveries WHERE issue_id = ?`, q.t(now), q.t(now), q.t(now), issueID).
		Scan(&r.Waiting, tm{&r.NextRetry}, &r.Due, &r.Leased, tm{&r.LeaseUntil}, &maxTries)
	if err != nil {
		return nil, fmt.Errorf("summarize deliveries of %s: %w", issueID, err)
	}
	r.MaxTries = int(maxTries.Int64)
	// The snapshot's recipients without a row, chunk by chunk.
	err = s.unsent(ctx, q, issueID, func(d digest.Delivery) {
		r.Counts[d.State]++
		r.MaxTries = max(r.MaxTries, d.Attempts)
		switch {
		case d.State == digest.StateSending:
			r.Leased++
			if d.ClaimedUntil.After(r.LeaseUntil) {
				r.LeaseUntil = d.ClaimedUntil
			}
		case d.NextAttemptAt.After(now):
			r.Waiting++
			if r.NextRetry.IsZero() || d.NextAttemptAt.Before(r.NextRetry) {
				r.NextRetry = d.NextAttemptAt
			}
		default:
			r.Due++
		}
	})
	if err != nil {
		return nil, fmt.Errorf("summarize deliveries of %s: %w", issueID, err)
	}
	r.Failures, err = collect(func(rows *sql.Rows) (digest.Failure, error) {
		var f digest.Failure
		return f, rows.Scan(&f.State, &f.Error, &f.Count)
	})(q.query(ctx, `SELECT state, last_error, COUNT(*) FROM digest_deliveries
		WHERE issue_id = ? AND state IN ('failed', 'pending') AND last_error <> ''
		GROUP BY state, last_error`, issueID))
	if err != nil {
		return nil, fmt.Errorf("summarize deliveries of %s: %w", issueID, err)
	}
	return r, nil
}
