package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syndicated/syndicated/storage/internal/sqlq"
	"github.com/syndicated/syndicated/subscribers"
)

func scanSubscriber(r pgx.Row) (*subscribers.Subscriber, error) {
	var (
		sub                                        subscribers.Subscriber
		status                                     string
		consentAt, confirmed, unsubscribed, sentAt *time.Time
		created                                    time.Time
		bounces                                    int32
	)
	err := r.Scan(&sub.ID, &sub.Email, &sub.Name, &status, &consentAt, &sub.Consent.IP, &sub.Consent.UserAgent,
		&sub.Consent.Source, &created, &confirmed, &unsubscribed, &bounces, &sentAt)
	if err != nil {
		return nil, err
	}
	sub.Status = subscribers.Status(status)
	sub.BounceCount = int(bounces)
	sub.Consent.At = fromNull(consentAt)
	sub.CreatedAt = created.UTC()
	sub.ConfirmedAt = fromNull(confirmed)
	sub.UnsubscribedAt = fromNull(unsubscribed)
	sub.ConfirmationSentAt = fromNull(sentAt)
	sub.Lists = []subscribers.Subscription{}
	return &sub, nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// getSubscriber loads one subscriber (by "email" or "id") with its lists;
// lock adds FOR UPDATE.
func getSubscriber(ctx context.Context, q querier, by string, key any, lock bool) (*subscribers.Subscriber, error) {
	query := "SELECT " + sqlq.SubscriberColumns + " FROM subscribers s WHERE s." + by + " = $1"
	if lock {
		query += " FOR UPDATE"
	}
	sub, err := scanSubscriber(q.QueryRow(ctx, query, key))
	if isNoRows(err) {
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

// loadLists fills Lists of subs with one query.
func loadLists(ctx context.Context, q querier, subs []*subscribers.Subscriber) error {
	if len(subs) == 0 {
		return nil
	}
	byID := make(map[int64]*subscribers.Subscriber, len(subs))
	ids := make([]int64, len(subs))
	for i, s := range subs {
		byID[s.ID] = s
		ids[i] = s.ID
	}
	rows, err := q.Query(ctx, `SELECT subscriber_id, list, active, changed_at FROM subscriptions
		WHERE subscriber_id = ANY($1) ORDER BY subscriber_id, list`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id int64
			l  subscribers.Subscription
		)
		if err := rows.Scan(&id, &l.List, &l.Active, &l.ChangedAt); err != nil {
			return err
		}
		l.ChangedAt = l.ChangedAt.UTC()
		if s := byID[id]; s != nil {
			s.Lists = append(s.Lists, l)
		}
	}
	return rows.Err()
}

// UpdateSubscriber loads, lets fn change, and writes one subscriber in a
// single transaction. A transaction-scoped advisory lock on the address makes
// concurrent callers take turns even when the row does not exist yet (FOR
// UPDATE has nothing to lock then), so fn runs once per call. When fn leaves
// a new subscriber with an empty Status nothing is written and the unsaved
// subscriber (ID 0) is returned. A change fn makes to Email is ignored.
func (s *Store) UpdateSubscriber(ctx context.Context, email string, fn func(*subscribers.Subscriber) error) (*subscribers.Subscriber, error) {
	var out *subscribers.Subscriber
	var fnErr error
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`,
			int32(lockClassSubscriber), email); err != nil {
			return err
		}
		sub, err := getSubscriber(ctx, tx, "email", email, true)
		isNew := err == subscribers.ErrNotFound
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
			sub.CreatedAt = time.Now()
		}
		args := []any{sub.Name, string(sub.Status), nullTime(sub.Consent.At), sub.Consent.IP, sub.Consent.UserAgent,
			sub.Consent.Source, pgTime(sub.CreatedAt), nullTime(sub.ConfirmedAt), nullTime(sub.UnsubscribedAt),
			sub.BounceCount, nullTime(sub.ConfirmationSentAt)}
		if isNew {
			// InsertSubscribers does not take the advisory lock, so it can
			// still win the race; ON CONFLICT turns that into a clear error.
			err = tx.QueryRow(ctx, `INSERT INTO subscribers (name, status, consent_at, consent_ip,
				consent_user_agent, consent_source, created_at, confirmed_at, unsubscribed_at, bounce_count,
				confirmation_sent_at, email) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
				ON CONFLICT (email) DO NOTHING RETURNING id`, append(args, email)...).Scan(&sub.ID)
			if isNoRows(err) {
				return fmt.Errorf("%s was added concurrently", email)
			}
		} else {
			_, err = tx.Exec(ctx, `UPDATE subscribers SET name = $1, status = $2, consent_at = $3, consent_ip = $4,
				consent_user_agent = $5, consent_source = $6, created_at = $7, confirmed_at = $8,
				unsubscribed_at = $9, bounce_count = $10, confirmation_sent_at = $11 WHERE id = $12`,
				append(args, sub.ID)...)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM subscriptions WHERE subscriber_id = $1`, sub.ID); err != nil {
			return err
		}
		var (
			lists   []string
			actives []bool
			changed []time.Time
			seen    = map[string]bool{}
		)
		for _, l := range sub.Lists {
			if l.List == "" || seen[l.List] {
				continue
			}
			seen[l.List] = true
			c := l.ChangedAt
			if c.IsZero() {
				c = time.Now()
			}
			lists, actives, changed = append(lists, l.List), append(actives, l.Active), append(changed, pgTime(c))
		}
		if len(lists) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO subscriptions (subscriber_id, list, active, changed_at)
				SELECT $1, * FROM unnest($2::text[], $3::boolean[], $4::timestamptz[])`,
				sub.ID, lists, actives, changed); err != nil {
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
	sub, err := getSubscriber(ctx, s.pool, "email", email, false)
	if err != nil {
		return nil, fmt.Errorf("get subscriber: %w", err)
	}
	return sub, nil
}

// GetSubscriberByID returns subscribers.ErrNotFound for an unknown id.
func (s *Store) GetSubscriberByID(ctx context.Context, id int64) (*subscribers.Subscriber, error) {
	sub, err := getSubscriber(ctx, s.pool, "id", id, false)
	if err != nil {
		return nil, fmt.Errorf("get subscriber %d: %w", id, err)
	}
	return sub, nil
}

// ListSubscribers returns the subscribers f selects, ordered by id.
func (s *Store) ListSubscribers(ctx context.Context, f subscribers.Filter) ([]*subscribers.Subscriber, error) {
	query, args := sqlq.Subscribers(dialect, f, false)
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list subscribers: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*subscribers.Subscriber, error) {
		return scanSubscriber(r)
	})
	if err != nil {
		return nil, fmt.Errorf("list subscribers: %w", err)
	}
	if err := loadLists(ctx, s.pool, out); err != nil {
		return nil, fmt.Errorf("list subscribers: %w", err)
	}
	return out, nil
}

// CountSubscribers counts what ListSubscribers would return, ignoring
// AfterID and Limit.
func (s *Store) CountSubscribers(ctx context.Context, f subscribers.Filter) (int, error) {
	query, args := sqlq.Subscribers(dialect, f, true)
	var n int
	if err := s.pool.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count subscribers: %w", err)
	}
	return n, nil
}

// DeleteSubscriber erases the subscriber and its subscriptions and records
// the suppression hash, in one transaction.
func (s *Store) DeleteSubscriber(ctx context.Context, email, suppressionHash string) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM subscribers WHERE email = $1 FOR UPDATE`, email).Scan(&id)
		if isNoRows(err) {
			return subscribers.ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM subscriptions WHERE subscriber_id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM subscribers WHERE id = $1`, id); err != nil {
			return err
		}
		if suppressionHash != "" {
			if _, err := tx.Exec(ctx, `INSERT INTO suppressions (hash, created_at) VALUES ($1, now())
				ON CONFLICT (hash) DO NOTHING`, suppressionHash); err != nil {
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
	var found bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM suppressions WHERE hash = $1)`, suppressionHash).Scan(&found)
	if err != nil {
		return false, fmt.Errorf("is suppressed: %w", err)
	}
	return found, nil
}

// insertBatch is rows per INSERT … SELECT FROM unnest(…) statement.
const insertBatch = 5000

// InsertSubscribers adds subs in one transaction, a few thousand rows per
// statement passed as arrays; addresses already stored (or repeated in subs)
// are skipped by ON CONFLICT DO NOTHING.
func (s *Store) InsertSubscribers(ctx context.Context, subs []*subscribers.Subscriber) (inserted, skipped int, err error) {
	subs, skipped = dedupe(subs)
	now := time.Now()
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for start := 0; start < len(subs); start += insertBatch {
			batch := subs[start:min(start+insertBatch, len(subs))]
			n := len(batch)
			var (
				emails, names, statuses, ips, uas, sources = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
				consentAt, confirmed, unsub, sent          = make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
				created                                    = make([]time.Time, n)
				bounces                                    = make([]int32, n)
				byEmail                                    = make(map[string]*subscribers.Subscriber, n)
			)
			for i, sub := range batch {
				status := sub.Status
				if status == "" {
					status = subscribers.StatusPending
				}
				c := sub.CreatedAt
				if c.IsZero() {
					c = now
				}
				emails[i], names[i], statuses[i] = sub.Email, sub.Name, string(status)
				ips[i], uas[i], sources[i] = sub.Consent.IP, sub.Consent.UserAgent, sub.Consent.Source
				consentAt[i], confirmed[i] = nullTime(sub.Consent.At), nullTime(sub.ConfirmedAt)
				unsub[i], sent[i] = nullTime(sub.UnsubscribedAt), nullTime(sub.ConfirmationSentAt)
				created[i], bounces[i] = pgTime(c), int32(sub.BounceCount)
				byEmail[sub.Email] = sub
			}
			rows, err := tx.Query(ctx, `INSERT INTO subscribers (email, name, status, consent_at, consent_ip,
				consent_user_agent, consent_source, created_at, confirmed_at, unsubscribed_at, bounce_count,
				confirmation_sent_at)
				SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[],
					$7::text[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[], $11::integer[], $12::timestamptz[])
				ON CONFLICT (email) DO NOTHING RETURNING id, email`,
				emails, names, statuses, consentAt, ips, uas, sources, created, confirmed, unsub, bounces, sent)
			if err != nil {
				return err
			}
			var (
				subIDs   []int64
				lists    []string
				actives  []bool
				changeds []time.Time
				got      int
			)
			for rows.Next() {
				var id int64
				var email string
				if err := rows.Scan(&id, &email); err != nil {
					rows.Close()
					return err
				}
				got++
				sub := byEmail[email]
				for _, l := range sub.Lists {
					c := l.ChangedAt
					if c.IsZero() {
						c = sub.CreatedAt
					}
					if c.IsZero() {
						c = now
					}
					subIDs, lists, actives, changeds = append(subIDs, id), append(lists, l.List), append(actives, l.Active), append(changeds, pgTime(c))
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			inserted += got
			skipped += n - got
			if len(subIDs) > 0 {
				if _, err := tx.Exec(ctx, `INSERT INTO subscriptions (subscriber_id, list, active, changed_at)
					SELECT * FROM unnest($1::bigint[], $2::text[], $3::boolean[], $4::timestamptz[])
					ON CONFLICT DO NOTHING`, subIDs, lists, actives, changeds); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("insert subscribers: %w", err)
	}
	if inserted >= analyzeAfter {
		if _, err := s.pool.Exec(ctx, `ANALYZE subscribers, subscriptions`); err != nil {
			return inserted, skipped, fmt.Errorf("insert subscribers: analyze: %w", err)
		}
	}
	return inserted, skipped, nil
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
