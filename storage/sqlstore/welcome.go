package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/syndicated/syndicated/subscribers"
)

// The welcome emails' outbox (migration 0050), claimed and finished as
// the confirmations' is.

const welcomeColumns = `id, subscriber_id, lists, created_at, state, attempts, next_attempt_at, last_error, sent_at`

func scanWelcome(r *sql.Rows) (subscribers.Welcome, error) {
	var w subscribers.Welcome
	var lists string
	err := r.Scan(&w.ID, &w.SubscriberID, &lists, tm{&w.CreatedAt}, &w.State, &w.Attempts, tm{&w.NextAttemptAt},
		&w.LastError, tm{&w.SentAt})
	if lists != "" {
		w.Lists = strings.Split(lists, ",")
	}
	return w, err
}

// EnqueueWelcome implements subscribers.WelcomeOutbox.
func (s *Store) EnqueueWelcome(ctx context.Context, w subscribers.Welcome) (int64, error) {
	for _, l := range w.Lists {
		if l == "" || strings.Contains(l, ",") {
			return 0, fmt.Errorf("enqueue welcome: bad list slug %q", l)
		}
	}
	var id int64
	err := s.tx(ctx, func(q db) error {
		return q.row(ctx, `INSERT INTO welcome_outbox (subscriber_id, lists, created_at, state, attempts, next_attempt_at)
			VALUES (?, ?, ?, 'pending', 0, ?) RETURNING id`,
			w.SubscriberID, strings.Join(w.Lists, ","), q.t(w.CreatedAt), q.t(orNow(w.NextAttemptAt, w.CreatedAt))).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("enqueue welcome for subscriber %d: %w", w.SubscriberID, err)
	}
	return id, nil
}

// ClaimWelcomes implements subscribers.WelcomeOutbox; the rows come back
// by id.
func (s *Store) ClaimWelcomes(ctx context.Context, limit int, now time.Time, lease time.Duration) ([]subscribers.Welcome, error) {
	var out []subscribers.Welcome
	err := s.tx(ctx, func(q db) error {
		var ids []any
		for _, due := range []string{
			`state = 'sending' AND claimed_until <= ? ORDER BY next_attempt_at, id`,
			`state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id`,
		} {
			got, err := collect(func(r *sql.Rows) (any, error) {
				var id int64
				return id, r.Scan(&id)
			})(q.query(ctx, `SELECT id FROM welcome_outbox WHERE `+due+` LIMIT ?`+s.d.SkipLocked, q.t(now), limit-len(ids)))
			if err != nil {
				return err
			}
			if ids = append(ids, got...); len(ids) == limit {
				break
			}
		}
		if len(ids) == 0 {
			return nil
		}
		var err error
		out, err = collect(scanWelcome)(q.query(ctx, `UPDATE welcome_outbox
			SET state = 'sending', claimed_until = ?, attempts = attempts + 1
			WHERE id IN `+values(1, len(ids))+` RETURNING `+welcomeColumns,
			append([]any{q.t(now.Add(lease))}, ids...)...))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim welcomes: %w", err)
	}
	slices.SortFunc(out, func(a, b subscribers.Welcome) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// FinishWelcome implements subscribers.WelcomeOutbox.
func (s *Store) FinishWelcome(ctx context.Context, id int64, state subscribers.ConfirmationState, lastError string, next, now time.Time) error {
	err := s.tx(ctx, func(q db) error {
		var err error
		switch state {
		case subscribers.ConfirmationSent:
			_, err = q.exec(ctx, `UPDATE welcome_outbox SET state = 'sent', sent_at = ?, last_error = '', claimed_until = NULL
				WHERE id = ?`, q.t(now), id)
		case subscribers.ConfirmationPending, subscribers.ConfirmationFailed:
			_, err = q.exec(ctx, `UPDATE welcome_outbox SET state = ?, last_error = ?, next_attempt_at = ?, claimed_until = NULL
				WHERE id = ? AND state = 'sending'`, string(state), lastError, q.t(orNow(next, now)), id)
		default:
			err = fmt.Errorf("state %q is no outcome", state)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("record welcome %d: %w", id, err)
	}
	return nil
}
