package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/syndicated/syndicated/digest"
)

// The digest outbox. Every write runs on the single write connection inside
// BEGIN IMMEDIATE, so claims in this process are exclusive; SQLite serves
// one process.

const issueColumns = `id, series, week, since, until, created_at, status, finished_at`

func scanIssue(r rowScanner) (*digest.Issue, error) {
	var (
		iss                 digest.Issue
		week, status        string
		since, until, creat int64
		finished            sql.NullInt64
	)
	if err := r.Scan(&iss.ID, &iss.Series, &week, &since, &until, &creat, &status, &finished); err != nil {
		return nil, err
	}
	w, err := digest.ParseWeek(week)
	if err != nil {
		return nil, err
	}
	iss.Week = w
	iss.Since = time.UnixMicro(since).UTC()
	iss.Until = time.UnixMicro(until).UTC()
	iss.CreatedAt = time.UnixMicro(creat).UTC()
	iss.Status = digest.IssueStatus(status)
	iss.FinishedAt = fromMicro(finished)
	return &iss, nil
}

func getIssue(ctx context.Context, q queryer, id string) (*digest.Issue, error) {
	iss, err := scanIssue(q.QueryRowContext(ctx, `SELECT `+issueColumns+` FROM digest_issues WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, digest.ErrNotFound
	}
	return iss, err
}

// CreateIssue implements digest.Store.
func (s *Store) CreateIssue(ctx context.Context, iss digest.Issue, now time.Time) (*digest.Issue, bool, error) {
	var created bool
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO digest_issues (`+issueColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT (id) DO NOTHING`,
			iss.ID, iss.Series, iss.Week.String(), micro(iss.Since), micro(iss.Until), micro(now), string(digest.IssueSending))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		created = true
		_, err = tx.ExecContext(ctx, `INSERT INTO digest_deliveries (issue_id, subscriber_id, state, attempts, next_attempt_at)
			SELECT ?, s.id, 'pending', 0, ? FROM subscribers s
			JOIN subscriptions l ON l.subscriber_id = s.id AND l.list = ? AND l.active = 1
			WHERE s.status = 'active'`, iss.ID, micro(now), iss.Series)
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
	iss, err := getIssue(ctx, s.r, id)
	if err != nil {
		return nil, fmt.Errorf("get digest issue %s: %w", id, err)
	}
	return iss, nil
}

// LastIssue implements digest.Store.
func (s *Store) LastIssue(ctx context.Context, series, exceptID string) (*digest.Issue, error) {
	iss, err := scanIssue(s.r.QueryRowContext(ctx, `SELECT `+issueColumns+` FROM digest_issues
		WHERE series = ? AND id <> ? ORDER BY until DESC, id DESC LIMIT 1`, series, exceptID))
	if errors.Is(err, sql.ErrNoRows) {
		err = digest.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("last digest issue of %s: %w", series, err)
	}
	return iss, nil
}

// ListIssues implements digest.Store.
func (s *Store) ListIssues(ctx context.Context, status digest.IssueStatus) ([]*digest.Issue, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+issueColumns+` FROM digest_issues
		WHERE ? = '' OR status = ? ORDER BY created_at, id`, string(status), string(status))
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

func scanDelivery(r rowScanner) (digest.Delivery, error) {
	var (
		d             digest.Delivery
		state         string
		next          int64
		until, sentAt sql.NullInt64
	)
	err := r.Scan(&d.IssueID, &d.SubscriberID, &state, &d.Attempts, &next, &d.ClaimedBy, &until, &d.LastError, &d.MessageID, &sentAt)
	d.State = digest.State(state)
	d.NextAttemptAt = time.UnixMicro(next).UTC()
	d.ClaimedUntil = fromMicro(until)
	d.SentAt = fromMicro(sentAt)
	return d, err
}

func collectDeliveries(rows *sql.Rows) ([]digest.Delivery, error) {
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
	var out []digest.Delivery
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE digest_deliveries
			SET state = 'sending', claimed_by = ?, claimed_until = ?, attempts = attempts + 1
			WHERE issue_id = ? AND subscriber_id IN (
				SELECT subscriber_id FROM digest_deliveries
				WHERE issue_id = ? AND ((state = 'pending' AND next_attempt_at <= ?) OR (state = 'sending' AND claimed_until <= ?))
				ORDER BY subscriber_id LIMIT ?)
			RETURNING `+deliveryColumns,
			worker, micro(now.Add(lease)), issueID, issueID, micro(now), micro(now), limit)
		if err != nil {
			return err
		}
		out, err = collectDeliveries(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries of %s: %w", issueID, err)
	}
	sortDeliveries(out)
	return out, nil
}

// CompleteDelivery implements digest.Store.
func (s *Store) CompleteDelivery(ctx context.Context, issueID string, subscriberID int64, worker string, o digest.Outcome, now time.Time) (bool, error) {
	var ok bool
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if o.State == digest.StateSent {
			// Mail that went out is recorded even if the lease was lost.
			res, err = tx.ExecContext(ctx, `UPDATE digest_deliveries SET state = 'sent', message_id = ?, sent_at = ?,
				last_error = '', claimed_by = '', claimed_until = NULL
				WHERE issue_id = ? AND subscriber_id = ? AND state <> 'sent'`,
				o.MessageID, micro(now), issueID, subscriberID)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE digest_deliveries SET state = ?, last_error = ?, next_attempt_at = ?,
				claimed_by = '', claimed_until = NULL
				WHERE issue_id = ? AND subscriber_id = ? AND state = 'sending' AND claimed_by = ?`,
				string(o.State), o.Error, micro(orNow(o.NextAttemptAt, now)), issueID, subscriberID, worker)
		}
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		ok = n > 0
		if ok && o.Bounced {
			_, err = tx.ExecContext(ctx, `UPDATE subscribers SET status = 'bounced', bounce_count = bounce_count + 1
				WHERE id = ?`, subscriberID)
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("record delivery %s to %d: %w", issueID, subscriberID, err)
	}
	return ok, nil
}

func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

// ReleaseDeliveries implements digest.Store.
func (s *Store) ReleaseDeliveries(ctx context.Context, issueID, worker string, now time.Time) (int, error) {
	var n int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE digest_deliveries SET state = 'pending', claimed_by = '', claimed_until = NULL,
			attempts = MAX(attempts - 1, 0), next_attempt_at = MIN(next_attempt_at, ?)
			WHERE issue_id = ? AND state = 'sending' AND claimed_by = ?`, micro(now), issueID, worker)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("release deliveries of %s: %w", issueID, err)
	}
	return int(n), nil
}

// FinishIssue implements digest.Store.
func (s *Store) FinishIssue(ctx context.Context, issueID string, now time.Time) (bool, error) {
	var sent bool
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE digest_issues SET status = 'sent', finished_at = ?
			WHERE id = ? AND status <> 'sent' AND NOT EXISTS (SELECT 1 FROM digest_deliveries
				WHERE issue_id = ? AND state IN ('pending', 'sending'))`, micro(now), issueID, issueID); err != nil {
			return err
		}
		iss, err := getIssue(ctx, tx, issueID)
		if err != nil {
			return err
		}
		sent = iss.Status == digest.IssueSent
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("finish digest issue %s: %w", issueID, err)
	}
	return sent, nil
}

// DeliveryCounts implements digest.Store.
func (s *Store) DeliveryCounts(ctx context.Context, issueID string) (map[digest.State]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT state, COUNT(*) FROM digest_deliveries WHERE issue_id = ? GROUP BY state`, issueID)
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
	rows, err := s.r.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM digest_deliveries WHERE issue_id = ? ORDER BY subscriber_id`, issueID)
	if err != nil {
		return nil, fmt.Errorf("list deliveries of %s: %w", issueID, err)
	}
	return collectDeliveries(rows)
}

func sortDeliveries(ds []digest.Delivery) {
	slices.SortFunc(ds, func(a, b digest.Delivery) int { return cmp.Compare(a.SubscriberID, b.SubscriberID) })
}
