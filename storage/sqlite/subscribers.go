package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/syndicated/syndicated/storage/internal/sqlq"
	"github.com/syndicated/syndicated/subscribers"
)

type rowScanner interface{ Scan(dest ...any) error }

func scanSubscriber(r rowScanner) (*subscribers.Subscriber, error) {
	var (
		sub                                        subscribers.Subscriber
		status                                     string
		consentAt, confirmed, unsubscribed, sentAt sql.NullInt64
		created                                    int64
	)
	err := r.Scan(&sub.ID, &sub.Email, &sub.Name, &status, &consentAt, &sub.Consent.IP, &sub.Consent.UserAgent,
		&sub.Consent.Source, &created, &confirmed, &unsubscribed, &sub.BounceCount, &sentAt)
	if err != nil {
		return nil, err
	}
	sub.Status = subscribers.Status(status)
	sub.Consent.At = fromMicro(consentAt)
	sub.CreatedAt = time.UnixMicro(created).UTC()
	sub.ConfirmedAt = fromMicro(confirmed)
	sub.UnsubscribedAt = fromMicro(unsubscribed)
	sub.ConfirmationSentAt = fromMicro(sentAt)
	sub.Lists = []subscribers.Subscription{}
	return &sub, nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// getSubscriber loads one subscriber (by "email" or "id") with its lists.
func getSubscriber(ctx context.Context, q queryer, by string, key any) (*subscribers.Subscriber, error) {
	sub, err := scanSubscriber(q.QueryRowContext(ctx,
		"SELECT "+sqlq.SubscriberColumns+" FROM subscribers s WHERE s."+by+" = ?", key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, subscribers.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := loadLists(ctx, q, []*subscribers.Subscriber{sub}); err != nil {
		return nil, err
	}
	return sub, nil
}

// loadLists fills Lists of subs with one query per 500 subscribers rather
// than one query each.
func loadLists(ctx context.Context, q queryer, subs []*subscribers.Subscriber) error {
	byID := make(map[int64]*subscribers.Subscriber, len(subs))
	for _, s := range subs {
		byID[s.ID] = s
	}
	for start := 0; start < len(subs); start += insertBatch {
		chunk := subs[start:min(start+insertBatch, len(subs))]
		args := make([]any, len(chunk))
		for i, s := range chunk {
			args[i] = s.ID
		}
		rows, err := q.QueryContext(ctx, `SELECT subscriber_id, list, active, changed_at FROM subscriptions
			WHERE subscriber_id IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")+`)
			ORDER BY subscriber_id, list`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				id      int64
				l       subscribers.Subscription
				changed int64
			)
			if err := rows.Scan(&id, &l.List, &l.Active, &changed); err != nil {
				rows.Close()
				return err
			}
			l.ChangedAt = time.UnixMicro(changed).UTC()
			if s := byID[id]; s != nil {
				s.Lists = append(s.Lists, l)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// UpdateSubscriber loads, lets fn change, and writes one subscriber in a
// single write transaction. When fn leaves a new subscriber with an empty
// Status nothing is written and the unsaved subscriber (ID 0) is returned.
// The email is the key: a change fn makes to Email is ignored.
func (s *Store) UpdateSubscriber(ctx context.Context, email string, fn func(*subscribers.Subscriber) error) (*subscribers.Subscriber, error) {
	var out *subscribers.Subscriber
	var fnErr error
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		sub, err := getSubscriber(ctx, tx, "email", email)
		isNew := errors.Is(err, subscribers.ErrNotFound)
		if err != nil && !isNew {
			return err
		}
		if isNew {
			sub = &subscribers.Subscriber{Email: email}
		}
		if err := fn(sub); err != nil {
			fnErr = err
			return err
		}
		sub.Email = email
		out = sub
		if isNew && sub.Status == "" {
			sub.ID = 0
			return nil
		}
		if !sub.Status.Valid() {
			return fmt.Errorf("status %q is not valid", sub.Status)
		}
		if sub.CreatedAt.IsZero() {
			sub.CreatedAt = time.Now().UTC()
		}
		args := []any{sub.Name, string(sub.Status), microOrNull(sub.Consent.At), sub.Consent.IP, sub.Consent.UserAgent,
			sub.Consent.Source, micro(sub.CreatedAt), microOrNull(sub.ConfirmedAt), microOrNull(sub.UnsubscribedAt),
			sub.BounceCount, microOrNull(sub.ConfirmationSentAt)}
		if isNew {
			err = tx.QueryRowContext(ctx, `INSERT INTO subscribers (name, status, consent_at, consent_ip,
				consent_user_agent, consent_source, created_at, confirmed_at, unsubscribed_at, bounce_count,
				confirmation_sent_at, email) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				append(args, email)...).Scan(&sub.ID)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE subscribers SET name = ?, status = ?, consent_at = ?, consent_ip = ?,
				consent_user_agent = ?, consent_source = ?, created_at = ?, confirmed_at = ?, unsubscribed_at = ?,
				bounce_count = ?, confirmation_sent_at = ? WHERE id = ?`, append(args, sub.ID)...)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscriptions WHERE subscriber_id = ?`, sub.ID); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, l := range sub.Lists {
			if l.List == "" || seen[l.List] {
				continue
			}
			seen[l.List] = true
			changed := l.ChangedAt
			if changed.IsZero() {
				changed = time.Now()
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO subscriptions (subscriber_id, list, active, changed_at)
				VALUES (?, ?, ?, ?)`, sub.ID, l.List, l.Active, micro(changed)); err != nil {
				return err
			}
		}
		return nil
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, fmt.Errorf("update subscriber: %w", err)
	}
	if out.ID != 0 {
		// Reload so the caller sees times as stored (UTC, microseconds).
		return s.GetSubscriberByID(ctx, out.ID)
	}
	return out, nil
}

// GetSubscriber returns subscribers.ErrNotFound for an unknown address.
func (s *Store) GetSubscriber(ctx context.Context, email string) (*subscribers.Subscriber, error) {
	sub, err := getSubscriber(ctx, s.r, "email", email)
	if err != nil {
		return nil, fmt.Errorf("get subscriber: %w", err)
	}
	return sub, nil
}

// GetSubscriberByID returns subscribers.ErrNotFound for an unknown id.
func (s *Store) GetSubscriberByID(ctx context.Context, id int64) (*subscribers.Subscriber, error) {
	sub, err := getSubscriber(ctx, s.r, "id", id)
	if err != nil {
		return nil, fmt.Errorf("get subscriber %d: %w", id, err)
	}
	return sub, nil
}

// ListSubscribers returns the subscribers f selects, ordered by id.
func (s *Store) ListSubscribers(ctx context.Context, f subscribers.Filter) ([]*subscribers.Subscriber, error) {
	query, args := sqlq.Subscribers(dialect, f, false)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list subscribers: %w", err)
	}
	var out []*subscribers.Subscriber
	for rows.Next() {
		sub, err := scanSubscriber(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list subscribers: %w", err)
		}
		out = append(out, sub)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list subscribers: %w", err)
	}
	if err := loadLists(ctx, s.r, out); err != nil {
		return nil, fmt.Errorf("list subscribers: %w", err)
	}
	return out, nil
}

// CountSubscribers counts what ListSubscribers would return, ignoring
// AfterID and Limit.
func (s *Store) CountSubscribers(ctx context.Context, f subscribers.Filter) (int, error) {
	query, args := sqlq.Subscribers(dialect, f, true)
	var n int
	if err := s.r.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count subscribers: %w", err)
	}
	return n, nil
}

// DeleteSubscriber erases the subscriber and its subscriptions and records
// the suppression hash, in one transaction.
func (s *Store) DeleteSubscriber(ctx context.Context, email, suppressionHash string) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM subscribers WHERE email = ?`, email).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return subscribers.ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscriptions WHERE subscriber_id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscribers WHERE id = ?`, id); err != nil {
			return err
		}
		if suppressionHash != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO suppressions (hash, created_at) VALUES (?, ?)
				ON CONFLICT (hash) DO NOTHING`, suppressionHash, time.Now().UnixMicro()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete subscriber: %w", err)
	}
	return nil
}

// IsSuppressed reports whether the hash was recorded by DeleteSubscriber.
func (s *Store) IsSuppressed(ctx context.Context, suppressionHash string) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM suppressions WHERE hash = ?`, suppressionHash).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("is suppressed: %w", err)
	}
	return true, nil
}

// insertBatch is rows per INSERT statement: 12 columns × 500 stays far below
// SQLite's 32766 bound variables.
const insertBatch = 500

// InsertSubscribers adds subs in one transaction with multi-row INSERT … ON
// CONFLICT DO NOTHING; addresses already stored (or repeated in subs) are
// skipped.
func (s *Store) InsertSubscribers(ctx context.Context, subs []*subscribers.Subscriber) (inserted, skipped int, err error) {
	subs, skipped = dedupe(subs)
	now := time.Now().UTC()
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		stmts := map[int]*sql.Stmt{} // prepared per batch size
		defer func() {
			for _, st := range stmts {
				st.Close()
			}
		}()
		var (
			args    []any
			subArgs []any
			byEmail = map[string]*subscribers.Subscriber{}
		)
		for start := 0; start < len(subs); start += insertBatch {
			batch := subs[start:min(start+insertBatch, len(subs))]
			st := stmts[len(batch)]
			if st == nil {
				st, err = tx.PrepareContext(ctx, `INSERT INTO subscribers (email, name, status, consent_at, consent_ip,
					consent_user_agent, consent_source, created_at, confirmed_at, unsubscribed_at, bounce_count,
					confirmation_sent_at) VALUES `+values(len(batch), 12)+` ON CONFLICT (email) DO NOTHING RETURNING id, email`)
				if err != nil {
					return err
				}
				stmts[len(batch)] = st
			}
			args = args[:0]
			clear(byEmail)
			for _, sub := range batch {
				status := sub.Status
				if status == "" {
					status = subscribers.StatusPending
				}
				created := sub.CreatedAt
				if created.IsZero() {
					created = now
				}
				args = append(args, sub.Email, sub.Name, string(status), microOrNull(sub.Consent.At), sub.Consent.IP,
					sub.Consent.UserAgent, sub.Consent.Source, micro(created), microOrNull(sub.ConfirmedAt),
					microOrNull(sub.UnsubscribedAt), sub.BounceCount, microOrNull(sub.ConfirmationSentAt))
				byEmail[sub.Email] = sub
			}
			rows, err := st.QueryContext(ctx, args...)
			if err != nil {
				return err
			}
			n := 0
			subArgs = subArgs[:0]
			for rows.Next() {
				var id int64
				var email string
				if err := rows.Scan(&id, &email); err != nil {
					rows.Close()
					return err
				}
				n++
				for _, l := range byEmail[email].Lists {
					changed := l.ChangedAt
					if changed.IsZero() {
						changed = createdOr(byEmail[email], now)
					}
					subArgs = append(subArgs, id, l.List, l.Active, micro(changed))
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			inserted += n
			skipped += len(batch) - n
			for len(subArgs) > 0 {
				k := min(len(subArgs)/4, insertBatch)
				if _, err := tx.ExecContext(ctx, `INSERT INTO subscriptions (subscriber_id, list, active, changed_at)
					VALUES `+values(k, 4)+` ON CONFLICT DO NOTHING`, subArgs[:k*4]...); err != nil {
					return err
				}
				subArgs = subArgs[k*4:]
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("insert subscribers: %w", err)
	}
	return inserted, skipped, nil
}

func createdOr(s *subscribers.Subscriber, now time.Time) time.Time {
	if s.CreatedAt.IsZero() {
		return now
	}
	return s.CreatedAt
}

// dedupe drops nil entries and repeats of an address within subs, keeping
// the first; they count as skipped.
func dedupe(subs []*subscribers.Subscriber) ([]*subscribers.Subscriber, int) {
	seen := make(map[string]bool, len(subs))
	out := make([]*subscribers.Subscriber, 0, len(subs))
	for _, s := range subs {
		if s == nil || s.Email == "" || seen[s.Email] {
			continue
		}
		seen[s.Email] = true
		out = append(out, s)
	}
	return out, len(subs) - len(out)
}

// values returns "(?, ?), (?, ?)" for rows rows of cols columns.
func values(rows, cols int) string {
	row := "(" + strings.Repeat("?, ", cols-1) + "?)"
	var b strings.Builder
	b.Grow(rows * (len(row) + 2))
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}
