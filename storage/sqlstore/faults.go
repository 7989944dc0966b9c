package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/syndicated/syndicated/subscribers"
)

// UnbounceSubscribers implements subscribers.Store: bounced subscribers
// with these addresses (or, when emails is empty, every one the digest
// sender or MarkBounced bounced at or after since) become active again,
// one bounce fewer, each with an unbounce event.
func (s *Store) UnbounceSubscribers(ctx context.Context, emails []string, since time.Time) ([]string, error) {
	var out []string
	err := s.tx(ctx, func(q db) error {
		where, args := `bounced_at >= ?`, []any{q.t(since)}
		if len(emails) > 0 {
			where, args = `email_key IN `+values(1, len(emails)), nil
			for _, e := range emails {
				args = append(args, subscribers.Key(e))
			}
		}
		var ids []int64
		var err error
		out, err = collect(func(r *sql.Rows) (string, error) {
			var e string
			var id int64
			err := r.Scan(&id, &e)
			ids = append(ids, id)
			return e, err
		})(q.query(ctx, `UPDATE subscribers SET status = 'active', bounced_at = NULL,
			bounce_count = CASE WHEN bounce_count > 0 THEN bounce_count - 1 ELSE 0 END
			WHERE status = 'bounced' AND `+where+` RETURNING id, email`, args...))
		if err != nil {
			return err
		}
		return recordUnbounces(ctx, q, ids, time.Now().UTC())
	})
	if err != nil {
		return nil, fmt.Errorf("unbounce subscribers: %w", err)
	}
	return out, nil
}

// RetryFailed implements digest.Admin: the issue's failed deliveries are
// pending again, due now, with their attempts reset, and the issue is
// sending again when there were any.
func (s *Store) RetryFailed(ctx context.Context, issueID string, now time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(q db) error {
		var err error
		n, err = q.execN(ctx, `UPDATE digest_deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?,
			claimed_by = '', claimed_until = NULL
			WHERE issue_id = ? AND state = 'failed'`, q.t(now), issueID)
		if err != nil || n == 0 {
			return err
		}
		_, err = q.exec(ctx, `UPDATE digest_issues SET status = 'sending', finished_at = NULL WHERE id = ?`, issueID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("retry failed deliveries of %s: %w", issueID, err)
	}
	return int(n), nil
}
