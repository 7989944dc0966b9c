package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/syndicated/syndicated/subscribers"
)

// mailOutbox is what the confirmation and welcome emails' outboxes share:
// rows of a table claimed under a lease (another sender takes a row over
// once its lease ran out) and finished with an outcome.
type mailOutbox[T any] struct {
	table   string // confirmation_outbox, welcome_outbox
	columns string // what a claim returns, as scan reads it
	what    string // in errors: "confirmation", "welcome"
	scan    func(*sql.Rows) (T, error)
	id      func(T) int64
}

// claim takes up to limit due rows, those whose lease ran out first, and
// returns them in the order of the ids.
func (o mailOutbox[T]) claim(ctx context.Context, s *Store, limit int, now time.Time, lease time.Duration) ([]T, error) {
	var out []T
	err := s.tx(ctx, func(q db) error {
		var ids []any
		for _, due := range []string{
			`state = 'sending' AND claimed_until <= ? ORDER BY next_attempt_at, id`,
			`state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id`,
		} {
			got, err := collect(func(r *sql.Rows) (any, error) {
				var id int64
				return id, r.Scan(&id)
			})(q.query(ctx, `SELECT id FROM `+o.table+` WHERE `+due+` LIMIT ?`+s.d.SkipLocked, q.t(now), limit-len(ids)))
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
		out, err = collect(o.scan)(q.query(ctx, `UPDATE `+o.table+`
			SET state = 'sending', claimed_until = ?, attempts = attempts + 1
			WHERE id IN `+values(1, len(ids))+` RETURNING `+o.columns,
			append([]any{q.t(now.Add(lease))}, ids...)...))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim %ss: %w", o.what, err)
	}
	slices.SortFunc(out, func(a, b T) int { return cmp.Compare(o.id(a), o.id(b)) })
	return out, nil
}

// finish records a claimed row's outcome: sent, or due again at next.
func (o mailOutbox[T]) finish(ctx context.Context, s *Store, id int64, state subscribers.ConfirmationState, lastError string, next, now time.Time) error {
	err := s.tx(ctx, func(q db) error {
		var err error
		switch state {
		case subscribers.ConfirmationSent:
			_, err = q.exec(ctx, `UPDATE `+o.table+` SET state = 'sent', sent_at = ?, last_error = '', claimed_until = NULL
				WHERE id = ?`, q.t(now), id)
		case subscribers.ConfirmationPending, subscribers.ConfirmationFailed:
			_, err = q.exec(ctx, `UPDATE `+o.table+` SET state = ?, last_error = ?, next_attempt_at = ?, claimed_until = NULL
				WHERE id = ? AND state = 'sending'`, string(state), lastError, q.t(orNow(next, now)), id)
		default:
			err = fmt.Errorf("state %q is no outcome", state)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("record %s %d: %w", o.what, id, err)
	}
	return nil
}
