package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syndicated/syndicated/digest"
)

// The digest outbox. Claims take rows with FOR UPDATE SKIP LOCKED, so
// workers on every replica share an issue without waiting on each other,
// and mark them sending with a lease (claimed_until) that another worker
// may take over once it runs out.

const issueColumns = `id, series, week, since, until, created_at, status, finished_at`

func scanIssue(r pgx.Row) (*digest.Issue, error) {
	var (
		iss          digest.Issue
		week, status string
		finished     *time.Time
	)
	if err := r.Scan(&iss.ID, &iss.Series, &week, &iss.Since, &iss.Until, &iss.CreatedAt, &status, &finished); err != nil {
		return nil, err
	}
	w, err := digest.ParseWeek(week)
	if err != nil {
		return nil, err
	}
	iss.Week = w
	iss.Since, iss.Until, iss.CreatedAt = iss.Since.UTC(), iss.Until.UTC(), iss.CreatedAt.UTC()
	iss.Status = digest.IssueStatus(status)
	iss.FinishedAt = fromNull(finished)
	return &iss, nil
}

type rowQueryer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func getIssue(ctx context.Context, q rowQueryer, id string) (*digest.Issue, error) {
	iss, err := scanIssue(q.QueryRow(ctx, `SELECT `+issueColumns+` FROM digest_issues WHERE id = $1`, id))
	if isNoRows(err) {
		return nil, digest.ErrNotFound
	}
	return iss, err
}

// CreateIssue implements digest.Store. A concurrent CreateIssue of the same
// id waits on this one's row and then inserts nothing.
func (s *Store) CreateIssue(ctx context.Context, iss digest.Issue, now time.Time) (*digest.Issue, bool, error) {
	var created bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO digest_issues (`+issueColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, NULL) ON CONFLICT (id) DO NOTHING`,
			iss.ID, iss.Series, iss.Week.String(), iss.Since, iss.Until, now, string(digest.IssueSending))
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		created = true
		_, err = tx.Exec(ctx, `INSERT INTO digest_deliveries (issue_id, subscriber_id, state, attempts, next_attempt_at)
			SELECT $1, s.id, 'pending', 0, $2 FROM subscribers s
			JOIN subscriptions l ON l.subscriber_id = s.id AND l.list = $3 AND l.active
			WHERE s.status = 'active'`, iss.ID, now, iss.Series)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("create digest issue %s: %w", iss.ID, err)
	}
	stored, err := s.GetIssue(ctx, iss.ID)
	return stored, created, err
}

// GetIssue implements digest.Store.
func (s *Store) GetIssue(ctx context.Context, id string) (*digest.Issue, error) {
	iss, err := getIssue(ctx, s.pool, id)
	if err != nil {
		return nil, fmt.Errorf("get digest issue %s: %w", id, err)
	}
	return iss, nil
}

// LastIssue implements digest.Store.
func (s *Store) LastIssue(ctx context.Context, series, exceptID string) (*digest.Issue, error) {
	iss, err := scanIssue(s.pool.QueryRow(ctx, `SELECT `+issueColumns+` FROM digest_issues
		WHERE series = $1 AND id <> $2 ORDER BY until DESC, id DESC LIMIT 1`, series, exceptID))
	if isNoRows(err) {
		err = digest.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("last digest issue of %s: %w", series, err)
	}
	return iss, nil
}

// ListIssues implements digest.Store.
func (s *Store) ListIssues(ctx context.Context, status digest.IssueStatus) ([]*digest.Issue, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+issueColumns+` FROM digest_issues
		WHERE $1 = '' OR status = $1 ORDER BY created_at, id`, string(status))
	if err != nil {
		return nil, fmt.Errorf("list digest issues: %w", err)
	}
	defer rows.Close()
	var out []*digest.Issue
	for rows.Next() {
		iss, err := scanIssue(rows)
		if err != nil {
			return nil, fmt.Errorf("list digest issues: %w", err)
		}
		out = append(out, iss)
	}
	return out, rows.Err()
}

const deliveryColumns = `issue_id, subscriber_id, state, attempts, next_attempt_at, claimed_by, claimed_until,
	last_error, message_id, sent_at`

func scanDelivery(r pgx.Row) (digest.Delivery, error) {
	var (
		d             digest.Delivery
		state         string
		until, sentAt *time.Time
	)
	err := r.Scan(&d.IssueID, &d.SubscriberID, &state, &d.Attempts, &d.NextAttemptAt, &d.ClaimedBy, &until, &d.LastError, &d.MessageID, &sentAt)
	d.State = digest.State(state)
	d.NextAttemptAt = d.NextAttemptAt.UTC()
	d.ClaimedUntil = fromNull(until)
	d.SentAt = fromNull(sentAt)
	return d, err
}

func collectDeliveries(rows pgx.Rows) ([]digest.Delivery, error) {
	defer rows.Close()
	var out []digest.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ClaimDeliveries implements digest.Store.
func (s *Store) ClaimDeliveries(ctx context.Context, issueID, worker string, limit int, now time.Time, lease time.Duration) ([]digest.Delivery, error) {
	rows, err := s.pool.Query(ctx, `WITH c AS (
			SELECT subscriber_id FROM digest_deliveries
			WHERE issue_id = $3 AND ((state = 'pending' AND next_attempt_at <= $4) OR (state = 'sending' AND claimed_until <= $4))
			ORDER BY subscriber_id LIMIT $5
			FOR UPDATE SKIP LOCKED)
		UPDATE digest_deliveries d SET state = 'sending', claimed_by = $1, claimed_until = $2, attempts = d.attempts + 1
		FROM c WHERE d.issue_id = $3 AND d.subscriber_id = c.subscriber_id
		RETURNING d.issue_id, d.subscriber_id, d.state, d.attempts, d.next_attempt_at, d.claimed_by, d.claimed_until,
			d.last_error, d.message_id, d.sent_at`,
		worker, now.Add(lease), issueID, now, limit)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries of %s: %w", issueID, err)
	}
	out, err := collectDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries of %s: %w", issueID, err)
	}
	sortDeliveries(out)
	return out, nil
}

// CompleteDelivery implements digest.Store.
func (s *Store) CompleteDelivery(ctx context.Context, issueID string, subscriberID int64, worker string, o digest.Outcome, now time.Time) (bool, error) {
	var ok bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		var n int64
		if o.State == digest.StateSent {
			// Mail that went out is recorded even if the lease was lost.
			tag, e := tx.Exec(ctx, `UPDATE digest_deliveries SET state = 'sent', message_id = $1, sent_at = $2,
				last_error = '', claimed_by = '', claimed_until = NULL
				WHERE issue_id = $3 AND subscriber_id = $4 AND state <> 'sent'`,
				o.MessageID, now, issueID, subscriberID)
			n, err = tag.RowsAffected(), e
		} else {
			next := o.NextAttemptAt
			if next.IsZero() {
				next = now
			}
			tag, e := tx.Exec(ctx, `UPDATE digest_deliveries SET state = $1, last_error = $2, next_attempt_at = $3,
				claimed_by = '', claimed_until = NULL
				WHERE issue_id = $4 AND subscriber_id = $5 AND state = 'sending' AND claimed_by = $6`,
				string(o.State), o.Error, next, issueID, subscriberID, worker)
			n, err = tag.RowsAffected(), e
		}
		if err != nil {
			return err
		}
		ok = n > 0
		if ok && o.Bounced {
			_, err = tx.Exec(ctx, `UPDATE subscribers SET status = 'bounced', bounce_count = bounce_count + 1
				WHERE id = $1`, subscriberID)
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("record delivery %s to %d: %w", issueID, subscriberID, err)
	}
	return ok, nil
}

// ReleaseDeliveries implements digest.Store.
func (s *Store) ReleaseDeliveries(ctx context.Context, issueID, worker string, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE digest_deliveries SET state = 'pending', claimed_by = '', claimed_until = NULL,
		attempts = GREATEST(attempts - 1, 0), next_attempt_at = LEAST(next_attempt_at, $1)
		WHERE issue_id = $2 AND state = 'sending' AND claimed_by = $3`, now, issueID, worker)
	if err != nil {
		return 0, fmt.Errorf("release deliveries of %s: %w", issueID, err)
	}
	return int(tag.RowsAffected()), nil
}

// FinishIssue implements digest.Store.
func (s *Store) FinishIssue(ctx context.Context, issueID string, now time.Time) (bool, error) {
	if _, err := s.pool.Exec(ctx, `UPDATE digest_issues SET status = 'sent', finished_at = $1
		WHERE id = $2 AND status <> 'sent' AND NOT EXISTS (SELECT 1 FROM digest_deliveries
			WHERE issue_id = $2 AND state IN ('pending', 'sending'))`, now, issueID); err != nil {
		return false, fmt.Errorf("finish digest issue %s: %w", issueID, err)
	}
	iss, err := s.GetIssue(ctx, issueID)
	if err != nil {
		return false, err
	}
	return iss.Status == digest.IssueSent, nil
}

// DeliveryCounts implements digest.Store.
func (s *Store) DeliveryCounts(ctx context.Context, issueID string) (map[digest.State]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT state, COUNT(*) FROM digest_deliveries WHERE issue_id = $1 GROUP BY state`, issueID)
	if err != nil {
		return nil, fmt.Errorf("count deliveries of %s: %w", issueID, err)
	}
	defer rows.Close()
	out := map[digest.State]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[digest.State(st)] = n
	}
	return out, rows.Err()
}

// ListDeliveries implements digest.Store.
func (s *Store) ListDeliveries(ctx context.Context, issueID string) ([]digest.Delivery, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+deliveryColumns+` FROM digest_deliveries WHERE issue_id = $1 ORDER BY subscriber_id`, issueID)
	if err != nil {
		return nil, fmt.Errorf("list deliveries of %s: %w", issueID, err)
	}
	return collectDeliveries(rows)
}

func sortDeliveries(ds []digest.Delivery) {
	slices.SortFunc(ds, func(a, b digest.Delivery) int { return cmp.Compare(a.SubscriberID, b.SubscriberID) })
}
