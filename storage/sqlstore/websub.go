package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/syndicated/syndicated/feeds/websub"
)

const subscriptionColumns = `s.id, s.topic, s.callback, s.secret, s.lease_seconds, s.expires_at, s.created_at`

// PutSubscription implements websub.Store.
func (s *Store) PutSubscription(ctx context.Context, sub websub.Subscription) (websub.Subscription, error) {
	var out websub.Subscription
	err := s.tx(ctx, func(q db) error {
		_, err := q.exec(ctx, `INSERT INTO websub_subscriptions (topic, callback, secret, lease_seconds, expires_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (topic, callback) DO UPDATE SET secret = excluded.secret, lease_seconds = excluded.lease_seconds,
				expires_at = excluded.expires_at`,
			sub.Topic, sub.Callback, sub.Secret, int64(sub.Lease/time.Second), q.t(sub.Expires), q.t(sub.Created))
		if err != nil {
			return err
		}
		out, err = getSubscription(ctx, q, sub.Topic, sub.Callback)
		return err
	})
	if err != nil {
		return websub.Subscription{}, fmt.Errorf("put websub subscription: %w", err)
	}
	return out, nil
}

func getSubscription(ctx context.Context, q db, topic, callback string) (websub.Subscription, error) {
	var sub websub.Subscription
	var lease int64
	err := q.row(ctx, `SELECT `+subscriptionColumns+` FROM websub_subscriptions s WHERE s.topic = ? AND s.callback = ?`,
		topic, callback).Scan(&sub.ID, &sub.Topic, &sub.Callback, &sub.Secret, &lease, tm{&sub.Expires}, tm{&sub.Created})
	sub.Lease = time.Duration(lease) * time.Second
	return sub, err
}

// DeleteSubscription implements websub.Store.
func (s *Store) DeleteSubscription(ctx context.Context, topic, callback string) error {
	err := s.tx(ctx, func(q db) error {
		_, err := q.exec(ctx, `DELETE FROM websub_subscriptions WHERE topic = ? AND callback = ?`, topic, callback)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete websub subscription: %w", err)
	}
	return nil
}

// LiveSubscriptions implements websub.Store.
func (s *Store) LiveSubscriptions(ctx context.Context, topic string, now time.Time) (int, error) {
	q := s.read()
	var n int
	if err := q.row(ctx, `SELECT COUNT(*) FROM websub_subscriptions WHERE topic = ? AND expires_at > ?`, topic, q.t(now)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count websub subscriptions: %w", err)
	}
	return n, nil
}

// QueueDistribution implements websub.Store.
func (s *Store) QueueDistribution(ctx context.Context, topic, contentType string, body []byte, sum string, now time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(q db) error {
		if _, err := q.exec(ctx, `INSERT INTO websub_contents (topic, sha256, content_type, body, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (topic) DO UPDATE SET sha256 = excluded.sha256, content_type = excluded.content_type,
				body = excluded.body, updated_at = excluded.updated_at
			WHERE websub_contents.sha256 <> excluded.sha256`,
			topic, sum, contentType, string(body), q.t(now)); err != nil {
			return err
		}
		var err error
		n, err = q.execN(ctx, `INSERT INTO websub_deliveries (subscription_id, sha256, state, attempts, next_attempt_at, queued_at)
			SELECT id, ?, 'pending', 0, ?, ? FROM websub_subscriptions WHERE topic = ? AND expires_at > ?
			ON CONFLICT (subscription_id) DO UPDATE SET sha256 = excluded.sha256, state = 'pending', attempts = 0,
				next_attempt_at = excluded.next_attempt_at, queued_at = excluded.queued_at, last_error = ''
			WHERE websub_deliveries.sha256 <> excluded.sha256`,
			sum, q.t(now), q.t(now), topic, q.t(now))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("queue websub distribution of %s: %w", topic, err)
	}
	return int(n), nil
}

// ClaimDistributions implements websub.Store.
func (s *Store) ClaimDistributions(ctx context.Context, owner string, now, until time.Time, n int) ([]websub.Distribution, error) {
	var out []websub.Distribution
	err := s.tx(ctx, func(q db) error {
		ids, err := collect(func(r *sql.Rows) (int64, error) {
			var id int64
			return id, r.Scan(&id)
		})(q.query(ctx, fmt.Sprintf(`SELECT subscription_id FROM websub_deliveries
			WHERE (state = 'pending' AND next_attempt_at <= ?) OR (state = 'sending' AND claimed_until < ?)
			ORDER BY next_attempt_at, subscription_id LIMIT %d`, n)+q.d.SkipLocked, q.t(now), q.t(now)))
		if err != nil || len(ids) == 0 {
			return err
		}
		args := []any{owner, q.t(until)}
		for _, id := range ids {
			args = append(args, id)
		}
		if _, err := q.exec(ctx, `UPDATE websub_deliveries SET state = 'sending', claimed_by = ?, claimed_until = ?
			WHERE subscription_id IN `+values(1, len(ids)), args...); err != nil {
			return err
		}
		out, err = collect(func(r *sql.Rows) (websub.Distribution, error) {
			var d websub.Distribution
			var lease int64
			var body string
			err := r.Scan(&d.ID, &d.Topic, &d.Callback, &d.Secret, &lease, tm{&d.Expires}, tm{&d.Created},
				&d.SHA256, &d.Attempts, &d.ContentType, &body)
			d.Lease, d.Body = time.Duration(lease)*time.Second, []byte(body)
			return d, err
		})(q.query(ctx, `SELECT `+subscriptionColumns+`, d.sha256, d.attempts, c.content_type, c.body
			FROM websub_deliveries d JOIN websub_subscriptions s ON s.id = d.subscription_id
			JOIN websub_contents c ON c.topic = s.topic AND c.sha256 = d.sha256
			WHERE d.subscription_id IN `+values(1, len(ids))+` ORDER BY d.next_attempt_at, d.subscription_id`, args[2:]...))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim websub distributions: %w", err)
	}
	return out, nil
}

// FinishDistribution implements websub.Store.
func (s *Store) FinishDistribution(ctx context.Context, owner string, d websub.Distribution, o websub.Outcome, now time.Time) error {
	err := s.tx(ctx, func(q db) error {
		var state string
		err := q.row(ctx, `SELECT state FROM websub_deliveries WHERE subscription_id = ? AND sha256 = ? AND claimed_by = ?`+q.d.ForUpdate,
			d.ID, d.SHA256, owner).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) || err == nil && state != "sending" {
			return nil // replaced by newer content, or taken over
		}
		if err != nil {
			return err
		}
		switch {
		case o.Gone:
			_, err = q.exec(ctx, `DELETE FROM websub_subscriptions WHERE id = ?`, d.ID)
		case o.Delivered:
			_, err = q.exec(ctx, `UPDATE websub_deliveries SET state = 'done', attempts = attempts + 1, claimed_by = '',
				claimed_until = NULL, last_error = '' WHERE subscription_id = ?`, d.ID)
		case !o.RetryAt.IsZero():
			_, err = q.exec(ctx, `UPDATE websub_deliveries SET state = 'pending', attempts = attempts + 1, next_attempt_at = ?,
				claimed_by = '', claimed_until = NULL, last_error = ? WHERE subscription_id = ?`, q.t(o.RetryAt), o.Err, d.ID)
		default:
			_, err = q.exec(ctx, `UPDATE websub_deliveries SET state = 'failed', attempts = attempts + 1, claimed_by = '',
				claimed_until = NULL, last_error = ? WHERE subscription_id = ?`, o.Err, d.ID)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("finish websub distribution to subscription %d: %w", d.ID, err)
	}
	return nil
}

// ExpireSubscriptions implements websub.Store.
func (s *Store) ExpireSubscriptions(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(q db) error {
		var err error
		n, err = q.execN(ctx, `DELETE FROM websub_subscriptions WHERE expires_at <= ?`, q.t(now))
		if err == nil {
			_, err = q.exec(ctx, `DELETE FROM websub_contents WHERE NOT EXISTS
				(SELECT 1 FROM websub_subscriptions s WHERE s.topic = websub_contents.topic)`)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("expire websub subscriptions: %w", err)
	}
	return int(n), nil
}

// SubscriptionCounts implements websub.Store.
func (s *Store) SubscriptionCounts(ctx context.Context, now time.Time) (map[string]int, error) {
	q := s.read()
	type row struct {
		topic string
		n     int
	}
	rows, err := collect(func(r *sql.Rows) (row, error) {
		var x row
		return x, r.Scan(&x.topic, &x.n)
	})(q.query(ctx, `SELECT topic, COUNT(*) FROM websub_subscriptions WHERE expires_at > ? GROUP BY topic`, q.t(now)))
	if err != nil {
		return nil, fmt.Errorf("count websub subscriptions: %w", err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.topic] = r.n
	}
	return out, nil
}
