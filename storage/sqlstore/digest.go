package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/storage/internal/sqlq"
	"github.com/syndicated/syndicated/subscribers"
)

// The digest outbox: issues, and the snapshot of their recipients. The
// claims, outcomes and counts are in outbox.go (design: docs/digest.md, "The outbox").

const issueColumns = `id, series, week, since, until, created_at, status, finished_at, content`

func scanIssue(r rowScanner) (*digest.Issue, error) {
	var (
		iss           digest.Issue
		week, content string
	)
	if err := r.Scan(&iss.ID, &iss.Series, &week, tm{&iss.Since}, tm{&iss.Until}, tm{&iss.CreatedAt}, &iss.Status,
		tm{&iss.FinishedAt}, &content); err != nil {
		return nil, err
	}
	w, err := digest.ParseWeek(week)
	if err != nil {
		return nil, err
	}
	iss.Week = w
	if content != "" {
		iss.Content = new(digest.Content)
		if err := json.Unmarshal([]byte(content), iss.Content); err != nil {
			return nil, fmt.Errorf("issue %s: content: %w", iss.ID, err)
		}
	}
	return &iss, nil
}

// errNoRecipients rolls back the creation of an issue nobody would get.
var errNoRecipients = errors.New("no recipients")

func getIssue(ctx context.Context, q db, id string) (*digest.Issue, error) {
	iss, err := scanIssue(q.row(ctx, `SELECT `+issueColumns+` FROM digest_issues WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, digest.ErrNotFound
	}
	return iss, err
}

// CreateIssue implements digest.Store: the issue and the snapshot of its
// recipients (the list's active subscribers, by id) in one transaction. A
// concurrent CreateIssue of the same id waits on this one's row (or its
// write lock) and then inserts nothing.
func (s *Store) CreateIssue(ctx context.Context, iss digest.Issue, now time.Time) (*digest.Issue, bool, error) {
	var created bool
	err := s.tx(ctx, func(q db) error {
		var err error
		if created, err = insertIssue(ctx, q, iss, now); err != nil || !created {
			return err
		}
		ids, err := collect(func(r *sql.Rows) (int64, error) {
			var id int64
			return id, r.Scan(&id)
		})(q.query(ctx, `SELECT s.id FROM subscribers s
			JOIN subscriptions l ON l.subscriber_id = s.id AND l.list = ? AND l.active = ?
			WHERE s.status = 'active' ORDER BY s.id`, iss.Series, true))
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return errNoRecipients
		}
		return writeSnapshot(ctx, q, iss.ID, ids, now)
	})
	return s.createdIssue(ctx, iss.ID, created, err)
}

// createdIssue ends an issue's creation: err (errNoRecipients as
// digest.ErrNoRecipients) wrapped with the issue's id, else the stored
// issue and whether this call created it.
func (s *Store) createdIssue(ctx context.Context, id string, created bool, err error) (*digest.Issue, bool, error) {
	if errors.Is(err, errNoRecipients) {
		err = digest.ErrNoRecipients
	}
	if err != nil {
		return nil, false, fmt.Errorf("create digest issue %s: %w", id, err)
	}
	stored, err := s.GetIssue(ctx, id)
	return stored, created, err
}

// createIssueTx stores iss (status sending, with its content) and the
// snapshot of its recipients (ascending subscriber ids), in q's
// transaction; when an issue with iss.ID exists it writes nothing and
// reports false. Issues of every cadence are created through it.
func (s *Store) createIssueTx(ctx context.Context, q db, iss digest.Issue, recipients []int64, now time.Time) (bool, error) {
	created, err := insertIssue(ctx, q, iss, now)
	if err != nil || !created {
		return false, err
	}
	return true, writeSnapshot(ctx, q, iss.ID, recipients, now)
}

// insertIssue stores iss (status sending, with its content) unless an
// issue with its id exists, and reports whether it did.
func insertIssue(ctx context.Context, q db, iss digest.Issue, now time.Time) (bool, error) {
	content := ""
	if iss.Content != nil {
		b, err := json.Marshal(iss.Content)
		if err != nil {
			return false, fmt.Errorf("content: %w", err)
		}
		content = string(b)
	}
	n, err := q.execN(ctx, `INSERT INTO digest_issues (`+issueColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?) ON CONFLICT (id) DO NOTHING`,
		iss.ID, iss.Series, iss.Week.String(), q.t(iss.Since), q.t(iss.Until), q.t(now), string(digest.IssueSending), content)
	return n > 0, err
}

// GetIssue implements digest.Store.
func (s *Store) GetIssue(ctx context.Context, id string) (*digest.Issue, error) {
	iss, err := getIssue(ctx, s.read(), id)
	if err != nil {
		return nil, fmt.Errorf("get digest issue %s: %w", id, err)
	}
	return iss, nil
}

// LastIssue implements digest.Store.
func (s *Store) LastIssue(ctx context.Context, series, exceptID string) (*digest.Issue, error) {
	iss, err := scanIssue(s.read().row(ctx, `SELECT `+issueColumns+` FROM digest_issues
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
	out, err := collect(func(r *sql.Rows) (*digest.Issue, error) { return scanIssue(r) })(s.read().query(ctx,
		`SELECT `+issueColumns+` FROM digest_issues WHERE ? = '' OR status = ? ORDER BY created_at, id`,
		string(status), string(status)))
	if err != nil {
		return nil, fmt.Errorf("list digest issues: %w", err)
	}
	return out, nil
}

// scanRecipient scans a row that ends with sqlq.SubscriberColumns and a
// list's (list, active, changed_at; NULL when the subscriber has none),
// after the columns scanned into prefix, and adds the subscriber and list
// to subs.
func scanRecipient(r *sql.Rows, prefix []any, subs map[int64]*subscribers.Subscriber) error {
	var (
		list   sql.NullString
		active sql.NullBool
		at     time.Time
	)
	sub, err := scanSubscriber(rowScannerFunc(func(dest ...any) error {
		return r.Scan(slices.Concat(prefix, dest, []any{&list, &active, tm{&at}})...)
	}))
	if err != nil {
		return err
	}
	if prev := subs[sub.ID]; prev != nil {
		sub = prev
	} else {
		subs[sub.ID] = sub
	}
	if list.Valid {
		sub.Lists = append(sub.Lists, subscribers.Subscription{List: list.String, Active: active.Bool, ChangedAt: at})
	}
	return nil
}

// claimPostgres is the claim in one statement, committed on its own (one
// round trip where a transaction takes several): the two ranges of the
// due index are read and locked (SKIP LOCKED) in CTEs, the rows claimed

// rowScannerFunc is a rowScanner that scans a part of a wider row.
type rowScannerFunc func(dest ...any) error

func (f rowScannerFunc) Scan(dest ...any) error { return f(dest...) }

// GetSubscribersByID implements digest.SubscriberGetter: the subscribers of
// a claimed batch, with their lists, in two queries. Unknown ids are left
// out.
func (s *Store) GetSubscribersByID(ctx context.Context, ids []int64) (map[int64]*subscribers.Subscriber, error) {
	out := make(map[int64]*subscribers.Subscriber, len(ids))
	q := s.read()
	for start := 0; start < len(ids); start += q.d.Batch {
		chunk := ids[start:min(start+q.d.Batch, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		st, err := s.prepared(ctx, s.r, `SELECT `+sqlq.SubscriberColumns+` FROM subscribers s WHERE s.id IN `+values(1, len(chunk)))
		if err != nil {
			return nil, fmt.Errorf("get %d subscribers: %w", len(chunk), err)
		}
		subs, err := collect(func(r *sql.Rows) (*subscribers.Subscriber, error) { return scanSubscriber(r) })(st.QueryContext(ctx, args...))
		if err == nil {
			err = loadLists(ctx, q, subs)
		}
		if err != nil {
			return nil, fmt.Errorf("get %d subscribers: %w", len(chunk), err)
		}
		for _, sub := range subs {
			out[sub.ID] = sub
		}
	}
	return out, nil
}

type stmtKey struct {
	pool  *sql.DB
	query string
}

// prepared returns query (with "?" placeholders) prepared on pool, once.
func (s *Store) prepared(ctx context.Context, pool *sql.DB, query string) (*sql.Stmt, error) {
	k := stmtKey{pool, db{pool, s.d}.bind(query)}
	if st, ok := s.stmts.Load(k); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := pool.PrepareContext(ctx, k.query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(k, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// Statements are prepared before their transaction begins: the SQLite
// write pool has one connection, which the transaction holds.

// outcomeTx runs fn in a write transaction that records outcomes of
// deliveries. On PostgreSQL it commits without waiting for the WAL flush
// (synchronous_commit off, this transaction only): the outcomes are still
// atomic and visible to every worker at once, and a process killed after
// the commit loses nothing; only a crash of the database server itself may
// lose the last fraction of a second of them. A lost outcome leaves its
// row sending, under the claim that was made durable before the SMTP
// transaction began, so the delivery is sent again once the lease runs out
// (a second copy, never a skip). Waiting for the flush would put a disk
// sync on every group of outcomes.
//
// The claim itself (ClaimBatch) and the heartbeat (RenewClaims) do not
// use it: they commit as the server is configured (synchronous_commit on by
// default, waiting for the flush), as the claim is the durable record that
// a message may be on its way, and a lost renewal would let another worker
// take over a live worker's deliveries.
func (s *Store) outcomeTx(ctx context.Context, fn func(q db) error) error {
	return s.tx(ctx, func(q db) error {
		if s.d.Name == "postgres" {
			if _, err := q.exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
				return err
			}
		}
		return fn(q)
	})
}
