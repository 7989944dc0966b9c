package sqlstore

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
	var sub subscribers.Subscriber
	err := r.Scan(&sub.ID, &sub.Email, &sub.Name, &sub.Status, tm{&sub.Consent.At}, &sub.Consent.IP, &sub.Consent.UserAgent,
		&sub.Consent.Source, tm{&sub.CreatedAt}, tm{&sub.ConfirmedAt}, tm{&sub.UnsubscribedAt}, &sub.BounceCount,
		tm{&sub.ConfirmationSentAt})
	if err != nil {
		return nil, err
	}
	sub.Lists = []subscribers.Subscription{}
	return &sub, nil
}

// getSubscriber loads one subscriber (by "email", which finds it by
// subscribers.Key, or "id") with its lists and event numbers; lock adds the
// dialect's row lock.
func getSubscriber(ctx context.Context, q db, by string, key any, lock bool) (*subscribers.Subscriber, error) {
	if by == "email" {
		by, key = "email_key", subscribers.Key(key.(string))
	}
	query := "SELECT " + sqlq.SubscriberColumns + ", s.event_seq, s.unsubscribed_seq, s.confirmed_seq FROM subscribers s WHERE s." + by + " = ?"
	if lock {
		query += q.d.ForUpdate
	}
	var seqs [3]int64
	sub, err := scanSubscriber(rowScannerFunc(func(dest ...any) error {
		return q.row(ctx, query, key).Scan(append(dest, &seqs[0], &seqs[1], &seqs[2])...)
	}))
	if err == nil {
		sub.EventSeq, sub.UnsubscribedSeq, sub.ConfirmedSeq = seqs[0], seqs[1], seqs[2]
	}
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

// loadLists fills Lists of subs with one query per batch of subscribers
// rather than one query each.
func loadLists(ctx context.Context, q db, subs []*subscribers.Subscriber) error {
	byID := make(map[int64]*subscribers.Subscriber, len(subs))
	for _, s := range subs {
		byID[s.ID] = s
	}
	for start := 0; start < len(subs); start += q.d.Batch {
		chunk := subs[start:min(start+q.d.Batch, len(subs))]
		args := make([]any, len(chunk))
		for i, s := range chunk {
			args[i] = s.ID
		}
		_, err := collect(func(rows *sql.Rows) (struct{}, error) {
			var id int64
			var l subscribers.Subscription
			if err := rows.Scan(&id, &l.List, &l.Active, tm{&l.ChangedAt}); err != nil {
				return struct{}{}, err
			}
			if s := byID[id]; s != nil {
				s.Lists = append(s.Lists, l)
			}
			return struct{}{}, nil
		})(q.query(ctx, `SELECT subscriber_id, list, active, changed_at FROM subscriptions
			WHERE subscriber_id IN `+values(1, len(chunk))+` ORDER BY subscriber_id, list`, args...))
		if err != nil {
			return err
		}
	}
	return nil
}

// subscriberColumns are written by UpdateSubscriber and InsertSubscribers,
// in the order of subscriberArgs.
const subscriberColumns = `name, status, consent_at, consent_ip, consent_user_agent, consent_source, created_at,
	confirmed_at, unsubscribed_at, bounce_count, confirmation_sent_at, event_seq, unsubscribed_seq, confirmed_seq,
	email, email_key`

// subscriberTypes and subscriptionTypes are the column types of the bulk
// inserts (see db.rows).
var (
	subscriberTypes = []string{"text", "text", "TIME", "text", "text", "text", "TIME", "TIME", "TIME", "integer", "TIME",
		"BIGINT", "BIGINT", "BIGINT", "text", "text"}
	subscriptionTypes = []string{"BIGINT", "text", "BOOL", "TIME"}
)

func subscriberArgs(q db, sub *subscribers.Subscriber, status subscribers.Status, created time.Time) []any {
	return []any{sub.Name, string(status), q.n(sub.Consent.At), sub.Consent.IP, sub.Consent.UserAgent,
		sub.Consent.Source, q.t(created), q.n(sub.ConfirmedAt), q.n(sub.UnsubscribedAt),
		sub.BounceCount, q.n(sub.ConfirmationSentAt), sub.EventSeq, sub.UnsubscribedSeq, sub.ConfirmedSeq,
		sub.Email, subscribers.Key(sub.Email)}
}

// updateSubscriber writes sub's columns (not its address) and its lists.
func updateSubscriber(ctx context.Context, q db, sub *subscribers.Subscriber) error {
	args := subscriberArgs(q, sub, sub.Status, sub.CreatedAt)
	_, err := q.exec(ctx, `UPDATE subscribers SET name = ?, status = ?, consent_at = ?, consent_ip = ?,
		consent_user_agent = ?, consent_source = ?, created_at = ?, confirmed_at = ?, unsubscribed_at = ?,
		bounce_count = ?, confirmation_sent_at = ?, event_seq = ?, unsubscribed_seq = ?, confirmed_seq = ?
		WHERE id = ?`, append(args[:14:14], sub.ID)...)
	if err != nil {
		return err
	}
	return replaceLists(ctx, q, sub)
}

// replaceLists writes sub's lists in place of those stored.
func replaceLists(ctx context.Context, q db, sub *subscribers.Subscriber) error {
	if _, err := q.exec(ctx, `DELETE FROM subscriptions WHERE subscriber_id = ?`, sub.ID); err != nil {
		return err
	}
	var lists []any
	seen := map[string]bool{}
	for _, l := range sub.Lists {
		if l.List == "" || seen[l.List] {
			continue
		}
		seen[l.List] = true
		lists = append(lists, sub.ID, l.List, l.Active, q.t(orNow(l.ChangedAt, time.Now())))
	}
	return insertSubscriptions(ctx, q, lists)
}

// UpdateSubscriber loads, lets fn change, and writes one subscriber in a
// single write transaction (on PostgreSQL behind an advisory lock on the
// address's key, so fn runs once per call even for a row that does not
// exist yet). When fn leaves a new subscriber with an empty Status nothing
// is written and the unsaved subscriber (ID 0) is returned. The address is
// the key, found whatever its letter case; a new subscriber's is stored as
// given, an existing one's is kept; a change fn makes to Email is ignored.
func (s *Store) UpdateSubscriber(ctx context.Context, email string, fn func(*subscribers.Subscriber) error) (*subscribers.Subscriber, error) {
	var out *subscribers.Subscriber
	var fnErr error
	err := s.tx(ctx, func(q db) error {
		if s.d.LockKey != "" {
			if _, err := q.exec(ctx, s.d.LockKey, subscribers.Key(email)); err != nil {
				return err
			}
		}
		sub, err := getSubscriber(ctx, q, "email", email, true)
		isNew := errors.Is(err, subscribers.ErrNotFound)
		if err != nil && !isNew {
			return err
		}
		if isNew {
			sub = &subscribers.Subscriber{Email: email}
		}
		stored := sub.Email
		if err := fn(sub); err != nil {
			fnErr = err
			return err
		}
		sub.Email = stored
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
		if !isNew {
			return updateSubscriber(ctx, q, sub)
		}
		// InsertSubscribers takes no lock, so it can still win the race;
		// ON CONFLICT turns that into a clear error.
		err = q.row(ctx, `INSERT INTO subscribers (`+subscriberColumns+`) VALUES `+values(1, len(subscriberTypes))+`
			ON CONFLICT (email_key) DO NOTHING RETURNING id`, subscriberArgs(q, sub, sub.Status, sub.CreatedAt)...).Scan(&sub.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return errors.New("the address was added concurrently")
		}
		if err != nil {
			return err
		}
		return replaceLists(ctx, q, sub)
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

// insertSubscriptions inserts rows of (subscriber_id, list, active,
// changed_at) given flat in args, Dialect.Batch rows per statement.
func insertSubscriptions(ctx context.Context, q db, args []any) error {
	for len(args) > 0 {
		k := min(len(args)/4, q.d.Batch)
		rows, rowArgs := q.rows(subscriptionTypes, args[:k*4])
		if _, err := q.exec(ctx, `INSERT INTO subscriptions (subscriber_id, list, active, changed_at)
			`+rows+` ON CONFLICT DO NOTHING`, rowArgs...); err != nil {
			return err
		}
		args = args[k*4:]
	}
	return nil
}

// GetSubscriber returns subscribers.ErrNotFound for an unknown address.
func (s *Store) GetSubscriber(ctx context.Context, email string) (*subscribers.Subscriber, error) {
	sub, err := getSubscriber(ctx, s.read(), "email", email, false)
	if err != nil {
		return nil, fmt.Errorf("get subscriber: %w", err)
	}
	return sub, nil
}

// GetSubscriberByID returns subscribers.ErrNotFound for an unknown id.
func (s *Store) GetSubscriberByID(ctx context.Context, id int64) (*subscribers.Subscriber, error) {
	sub, err := getSubscriber(ctx, s.read(), "id", id, false)
	if err != nil {
		return nil, fmt.Errorf("get subscriber %d: %w", id, err)
	}
	return sub, nil
}

// ListSubscribers returns the subscribers f selects, ordered by id.
func (s *Store) ListSubscribers(ctx context.Context, f subscribers.Filter) ([]*subscribers.Subscriber, error) {
	query, args := sqlq.Subscribers(s.d.Query, f, false)
	out, err := collect(func(rows *sql.Rows) (*subscribers.Subscriber, error) {
		return scanSubscriber(rows)
	})(s.r.QueryContext(ctx, query, args...))
	if err == nil {
		err = loadLists(ctx, s.read(), out)
	}
	if err != nil {
		return nil, fmt.Errorf("list subscribers: %w", err)
	}
	return out, nil
}

// CountSubscribers counts what ListSubscribers would return, ignoring
// AfterID and Limit.
func (s *Store) CountSubscribers(ctx context.Context, f subscribers.Filter) (int, error) {
	query, args := sqlq.Subscribers(s.d.Query, f, true)
	return s.count(ctx, "subscribers", query, args)
}

// DeleteSubscriber erases the subscriber and its subscriptions and records
// the suppression hash, in one transaction.
func (s *Store) DeleteSubscriber(ctx context.Context, email, suppressionHash string) error {
	err := s.tx(ctx, func(q db) error {
		var id int64
		err := q.row(ctx, `SELECT id FROM subscribers WHERE email_key = ?`+s.d.ForUpdate, subscribers.Key(email)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return subscribers.ErrNotFound
		}
		if err != nil {
			return err
		}
		for _, del := range []string{
			`DELETE FROM subscriptions WHERE subscriber_id = ?`,
			`DELETE FROM confirmation_outbox WHERE subscriber_id = ?`,
			`DELETE FROM subscriber_merges WHERE kept_id = ?`,
			// No foreign key on PostgreSQL (migration 0060); issue by
			// issue through the primary key (migration 0061).
			`DELETE FROM digest_deliveries WHERE issue_id IN (SELECT id FROM digest_issues) AND subscriber_id = ?`,
			`DELETE FROM subscribers WHERE id = ?`,
		} {
			if _, err := q.exec(ctx, del, id); err != nil {
				return err
			}
		}
		if suppressionHash != "" {
			return suppress(ctx, q, suppressionHash, "removed", time.Now())
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete subscriber: %w", err)
	}
	return nil
}

func suppress(ctx context.Context, q db, hash, reason string, at time.Time) error {
	_, err := q.exec(ctx, `INSERT INTO suppressions (hash, created_at, reason) VALUES (?, ?, ?)
		ON CONFLICT (hash) DO NOTHING`, hash, q.t(at), reason)
	return err
}

// Suppress implements subscribers.Store.
func (s *Store) Suppress(ctx context.Context, suppressionHash, reason string, at time.Time) error {
	if suppressionHash == "" {
		return errors.New("suppress: empty hash")
	}
	if err := s.tx(ctx, func(q db) error { return suppress(ctx, q, suppressionHash, reason, at) }); err != nil {
		return fmt.Errorf("suppress: %w", err)
	}
	return nil
}

// SubscriberMerges implements subscribers.Store.
func (s *Store) SubscriberMerges(ctx context.Context) ([]subscribers.Merge, error) {
	out, err := collect(func(r *sql.Rows) (subscribers.Merge, error) {
		var m subscribers.Merge
		return m, r.Scan(tm{&m.At}, &m.KeptID, &m.KeptEmail, &m.MergedID, &m.MergedEmail)
	})(s.read().query(ctx, `SELECT merged_at, kept_id, kept_email, merged_id, merged_email FROM subscriber_merges ORDER BY id`))
	if err != nil {
		return nil, fmt.Errorf("subscriber merges: %w", err)
	}
	return out, nil
}

// IsSuppressed reports whether the hash was recorded by DeleteSubscriber
// or Suppress.
func (s *Store) IsSuppressed(ctx context.Context, suppressionHash string) (bool, error) {
	var found bool
	err := s.read().row(ctx, `SELECT EXISTS (SELECT 1 FROM suppressions WHERE hash = ?)`, suppressionHash).Scan(&found)
	if err != nil {
		return false, fmt.Errorf("is suppressed: %w", err)
	}
	return found, nil
}

// InsertSubscribers adds subs in one transaction with multi-row INSERT … ON
// CONFLICT DO NOTHING; addresses already stored (or repeated in subs) are
// skipped.
func (s *Store) InsertSubscribers(ctx context.Context, subs []*subscribers.Subscriber) (inserted, skipped int, err error) {
	subs, skipped = dedupe(subs)
	now := time.Now().UTC()
	err = s.tx(ctx, func(q db) error {
		var args, lists []any
		byEmail := map[string]*subscribers.Subscriber{}
		for start := 0; start < len(subs); start += q.d.Batch {
			batch := subs[start:min(start+q.d.Batch, len(subs))]
			args = args[:0]
			clear(byEmail)
			for _, sub := range batch {
				status := sub.Status
				if status == "" {
					status = subscribers.StatusPending
				}
				args = append(args, subscriberArgs(q, sub, status, orNow(sub.CreatedAt, now))...)
				byEmail[sub.Email] = sub
			}
			lists = lists[:0]
			rows, rowArgs := q.rows(subscriberTypes, args)
			ids, err := collect(func(rows *sql.Rows) (int64, error) {
				var id int64
				var email string
				if err := rows.Scan(&id, &email); err != nil {
					return 0, err
				}
				sub := byEmail[email]
				for _, l := range sub.Lists {
					changed := orNow(l.ChangedAt, orNow(sub.CreatedAt, now))
					lists = append(lists, id, l.List, l.Active, q.t(changed))
				}
				return id, nil
			})(q.query(ctx, `INSERT INTO subscribers (`+subscriberColumns+`) `+rows+`
				ON CONFLICT (email_key) DO NOTHING RETURNING id, email`, rowArgs...))
			if err != nil {
				return err
			}
			inserted += len(ids)
			skipped += len(batch) - len(ids)
			if err := insertSubscriptions(ctx, q, lists); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("insert subscribers: %w", err)
	}
	if inserted >= bulkRows && s.d.AfterBulkSubscribers != "" {
		if _, err := s.w.ExecContext(ctx, s.d.AfterBulkSubscribers); err != nil {
			return inserted, skipped, fmt.Errorf("insert subscribers: %w", err)
		}
	}
	return inserted, skipped, nil
}

func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

// dedupe drops nil entries and repeats of an address (in any letter case)
// within subs, keeping the first; they count as skipped.
func dedupe(subs []*subscribers.Subscriber) ([]*subscribers.Subscriber, int) {
	seen := make(map[string]bool, len(subs))
	out := make([]*subscribers.Subscriber, 0, len(subs))
	for _, s := range subs {
		if s == nil || s.Email == "" {
			continue
		}
		k := subscribers.Key(s.Email)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, s)
	}
	return out, len(subs) - len(out)
}

// rows returns the row source of a multi-row INSERT of args, given row by
// row, with columns of the given types (names of Dialect.Types or SQL
// types): VALUES lists, or with Dialect.Unnest one array per column, which
// PostgreSQL takes much faster than thousands of placeholders.
func (q db) rows(types []string, args []any) (string, []any) {
	n := len(args) / len(types)
	if !q.d.Unnest {
		return "VALUES " + values(n, len(types)), args
	}
	cols := make([]any, len(types))
	src := make([]string, len(types))
	for c, t := range types {
		col := make([]any, n)
		for r := range n {
			col[r] = args[r*len(types)+c]
		}
		cols[c] = col
		if dt, ok := q.d.Types[t]; ok {
			t = dt
		}
		src[c] = "?::" + t + "[]"
	}
	return "SELECT * FROM unnest(" + strings.Join(src, ", ") + ")", cols
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
