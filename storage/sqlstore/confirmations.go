package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/syndicated/syndicated/subscribers"
)

// The confirmation emails' outbox: claimed like the digest's deliveries,
// with a lease another sender may take over once it runs out.

const confirmationColumns = `id, subscriber_id, lists, issued_at, state, attempts, next_attempt_at, last_error, sent_at,
	seq, name, consent_at, consent_ip, consent_user_agent, consent_source`

func scanConfirmation(r rowScanner) (subscribers.Confirmation, error) {
	var c subscribers.Confirmation
	var lists string
	err := r.Scan(&c.ID, &c.SubscriberID, &lists, tm{&c.IssuedAt}, &c.State, &c.Attempts, tm{&c.NextAttemptAt},
		&c.LastError, tm{&c.SentAt}, &c.Seq, &c.Name, tm{&c.Consent.At}, &c.Consent.IP, &c.Consent.UserAgent, &c.Consent.Source)
	if lists != "" {
		c.Lists = strings.Split(lists, ",")
	}
	return c, err
}

// EnqueueConfirmation implements subscribers.ConfirmationOutbox.
func (s *Store) EnqueueConfirmation(ctx context.Context, c subscribers.Confirmation) (int64, error) {
	for _, l := range c.Lists {
		if l == "" || strings.Contains(l, ",") {
			return 0, fmt.Errorf("enqueue confirmation: bad list slug %q", l)
		}
	}
	var id int64
	err := s.tx(ctx, func(q db) error {
		return q.row(ctx, `INSERT INTO confirmation_outbox (subscriber_id, lists, issued_at, state, attempts, next_attempt_at,
			seq, name, consent_at, consent_ip, consent_user_agent, consent_source)
			VALUES (?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			c.SubscriberID, strings.Join(c.Lists, ","), q.t(c.IssuedAt), q.t(orNow(c.NextAttemptAt, c.IssuedAt)),
			c.Seq, c.Name, q.n(c.Consent.At), c.Consent.IP, c.Consent.UserAgent, c.Consent.Source).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("enqueue confirmation for subscriber %d: %w", c.SubscriberID, err)
	}
	return id, nil
}

// confirmations is the confirmation emails' outbox.
var confirmations = mailOutbox[subscribers.Confirmation]{table: "confirmation_outbox", columns: confirmationColumns,
	what: "confirmation", scan: func(r *sql.Rows) (subscribers.Confirmation, error) { return scanConfirmation(r) },
	id: func(c subscribers.Confirmation) int64 { return c.ID }}

// ClaimConfirmations implements subscribers.ConfirmationOutbox; the rows
// come back by id.
func (s *Store) ClaimConfirmations(ctx context.Context, limit int, now time.Time, lease time.Duration) ([]subscribers.Confirmation, error) {
	return confirmations.claim(ctx, s, limit, now, lease)
}

// FinishConfirmation implements subscribers.ConfirmationOutbox.
func (s *Store) FinishConfirmation(ctx context.Context, id int64, state subscribers.ConfirmationState, lastError string, next, now time.Time) error {
	return confirmations.finish(ctx, s, id, state, lastError, next, now)
}

// GetConfirmation implements subscribers.ConfirmationOutbox.
func (s *Store) GetConfirmation(ctx context.Context, id int64) (subscribers.Confirmation, error) {
	c, err := scanConfirmation(s.read().row(ctx, `SELECT `+confirmationColumns+` FROM confirmation_outbox WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("confirmation %d: %w", id, subscribers.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("confirmation %d: %w", id, err)
	}
	return c, nil
}
