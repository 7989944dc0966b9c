package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
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

// welcomes is the welcome emails' outbox.
var welcomes = mailOutbox[subscribers.Welcome]{table: "welcome_outbox", columns: welcomeColumns, what: "welcome",
	scan: scanWelcome, id: func(w subscribers.Welcome) int64 { return w.ID }}

// ClaimWelcomes implements subscribers.WelcomeOutbox; the rows come back
// by id.
func (s *Store) ClaimWelcomes(ctx context.Context, limit int, now time.Time, lease time.Duration) ([]subscribers.Welcome, error) {
	return welcomes.claim(ctx, s, limit, now, lease)
}

// FinishWelcome implements subscribers.WelcomeOutbox.
func (s *Store) FinishWelcome(ctx context.Context, id int64, state subscribers.ConfirmationState, lastError string, next, now time.Time) error {
	return welcomes.finish(ctx, s, id, state, lastError, next, now)
}
