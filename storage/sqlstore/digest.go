package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/storage/internal/sqlq"
	"github.com/syndicated/syndicated/subscribers"
)

// The digest outbox. Claims mark deliveries sending with a lease
// (claimed_until) that another worker may take over once it runs out. On
// PostgreSQL the claim takes rows with FOR UPDATE SKIP LOCKED, so workers on
// every replica share an issue without waiting on each other; on SQLite
// every write transaction already excludes the others.

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

// CreateIssue implements digest.Store. A concurrent CreateIssue of the same
// id waits on this one's row (or its write lock) and then inserts nothing.
func (s *Store) CreateIssue(ctx context.Context, iss digest.Issue, now time.Time) (*digest.Issue, bool, error) {
	content := ""
	if iss.Content != nil {
		b, err := json.Marshal(iss.Content)
		if err != nil {
			return nil, false, fmt.Errorf("create digest issue %s: content: %w", iss.ID, err)
		}
		content = string(b)
	}
	var created bool
	err := s.tx(ctx, func(q db) error {
		n, err := q.execN(ctx, `INSERT INTO digest_issues (`+issueColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?) ON CONFLICT (id) DO NOTHING`,
			iss.ID, iss.Series, iss.Week.String(), q.t(iss.Since), q.t(iss.Until), q.t(now), string(digest.IssueSending), content)
		if err != nil || n == 0 {
			return err
		}
		created = true
		n, err = q.execN(ctx, `INSERT INTO digest_deliveries (issue_id, subscriber_id, state, attempts, next_attempt_at)
			SELECT ?, s.id, 'pending', 0, ? FROM subscribers s
			JOIN subscriptions l ON l.subscriber_id = s.id AND l.list = ? AND l.active = ?
			WHERE s.status = 'active'`, iss.ID, q.t(now), iss.Series, true)
		if err == nil && n == 0 {
			return errNoRecipients
		}
		return err
	})
	if errors.Is(err, errNoRecipients) {
		return nil, false, fmt.Errorf("create digest issue %s: %w", iss.ID, digest.ErrNoRecipients)
	}
	if err != nil {
		return nil, false, fmt.Errorf("create digest issue %s: %w", iss.ID, err)
	}
	stored, err := s.GetIssue(ctx, iss.ID)
	return stored, created, err
}

// CreateIssueWith implements digest.Store.
func (s *Store) CreateIssueWith(ctx context.Context, iss digest.Issue, recipients []int64, now time.Time) (*digest.Issue, bool, error) {
	if len(recipients) == 0 {
		return nil, false, fmt.Errorf("create digest issue %s: %w", iss.ID, digest.ErrNoRecipients)
	}
	var created bool
	err := s.tx(ctx, func(q db) error {
		var err error
		created, err = s.createIssueTx(ctx, q, iss, recipients, now)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("create digest issue %s: %w", iss.ID, err)
	}
	stored, err := s.GetIssue(ctx, iss.ID)
	return stored, created, err
}

// createIssueTx stores iss (status sending, with its content) and one
// pending delivery per recipient (ascending subscriber ids), in q's
// transaction;
// when an issue with iss.ID exists it writes nothing and reports false.
// Issues of every cadence are created through it.
func (s *Store) createIssueTx(ctx context.Context, q db, iss digest.Issue, recipients []int64, now time.Time) (bool, error) {
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
	if err != nil || n == 0 {
		return false, err
	}
	// One statement for the lot: an array of ids on PostgreSQL, a JSON
	// array on SQLite.
	if s.d.Unnest {
		_, err = q.exec(ctx, `INSERT INTO digest_deliveries (issue_id, subscriber_id, state, attempts, next_attempt_at)
			SELECT ?, r.id, 'pending', 0, ? FROM unnest(?::bigint[]) WITH ORDINALITY AS r(id, n) ORDER BY r.n`,
			iss.ID, q.t(now), recipients)
		return true, err
	}
	list := make([]byte, 0, 8*len(recipients))
	list = append(list, '[')
	for i, id := range recipients {
		if i > 0 {
			list = append(list, ',')
		}
		list = strconv.AppendInt(list, id, 10)
	}
	_, err = q.exec(ctx, `INSERT INTO digest_deliveries (issue_id, subscriber_id, state, attempts, next_attempt_at)
		SELECT ?, value, 'pending', 0, ? FROM json_each(?) ORDER BY key`, iss.ID, q.t(now), string(append(list, ']')))
	return true, err
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

const deliveryColumns = `issue_id, subscriber_id, state, attempts, next_attempt_at, claimed_by, claimed_until,
	last_error, message_id, sent_at`

func scanDelivery(r *sql.Rows) (digest.Delivery, error) {
	var d digest.Delivery
	err := r.Scan(&d.IssueID, &d.SubscriberID, &d.State, &d.Attempts, tm{&d.NextAttemptAt}, &d.ClaimedBy,
		tm{&d.ClaimedUntil}, &d.LastError, &d.MessageID, tm{&d.SentAt})
	return d, err
}

// ClaimDeliveries implements digest.Store: ClaimBatch from the start of
// the claim order, its subscribers left aside.
func (s *Store) ClaimDeliveries(ctx context.Context, issueID, worker string, limit int, now time.Time, lease time.Duration) ([]digest.Delivery, error) {
	b, err := s.ClaimBatch(ctx, issueID, digest.ClaimRequest{Worker: worker, Limit: limit, Now: now, Lease: lease})
	return b.Deliveries, err
}

// ClaimBatch implements digest.Store. It takes expired leases first (unless
// req.SkipExpired), then pending deliveries after req.After in the claim
// order: each is one range of the index digest_deliveries_due read in order
// and stopped at the batch. The claim commits durably (not through
// outcomeTx): the rows are sending before any SMTP transaction, even
// across a crash of the database server.
func (s *Store) ClaimBatch(ctx context.Context, issueID string, req digest.ClaimRequest) (digest.Batch, error) {
	var (
		b   digest.Batch
		err error
	)
	if s.d.Name == "postgres" {
		b, err = s.claimPostgres(ctx, issueID, req)
	} else {
		b, err = s.claimSQLite(ctx, issueID, req)
	}
	if err != nil {
		return digest.Batch{}, fmt.Errorf("claim deliveries of %s: %w", issueID, err)
	}
	slices.SortFunc(b.Deliveries, func(a, b digest.Delivery) int { return cmp.Compare(a.SubscriberID, b.SubscriberID) })
	return b, nil
}

// claimSQLite selects the ids to claim, updates them one by one (a
// primary-key lookup each) and loads their subscribers with their lists,
// in one transaction and with statements parsed once (the ids go to the
// last one as a JSON array).
func (s *Store) claimSQLite(ctx context.Context, issueID string, req digest.ClaimRequest) (digest.Batch, error) {
	// Each claim is one UPDATE of the rows its subquery picks in claim
	// order; the subquery is read first, then the rows are updated by
	// primary key.
	const claim = `UPDATE digest_deliveries
		SET state = 'sending', claimed_by = ?, claimed_until = ?, attempts = attempts + 1
		WHERE issue_id = ? AND subscriber_id IN (SELECT subscriber_id FROM digest_deliveries WHERE issue_id = ? AND `
	expired, err := s.prepared(ctx, s.w, claim+`state = 'sending' AND claimed_until <= ?
		ORDER BY next_attempt_at, subscriber_id LIMIT ?) RETURNING `+deliveryColumns)
	if err != nil {
		return digest.Batch{}, err
	}
	pending, err := s.prepared(ctx, s.w, claim+`state = 'pending' AND next_attempt_at <= ?
		AND (next_attempt_at, subscriber_id) > (?, ?)
		ORDER BY next_attempt_at, subscriber_id LIMIT ?) RETURNING `+deliveryColumns)
	if err != nil {
		return digest.Batch{}, err
	}
	recipients, err := s.prepared(ctx, s.w, `SELECT `+sqlq.SubscriberColumns+`, l.list, l.active, l.changed_at
		FROM subscribers s LEFT JOIN subscriptions l ON l.subscriber_id = s.id
		WHERE s.id IN (SELECT value FROM json_each(?)) ORDER BY s.id, l.list`)
	if err != nil {
		return digest.Batch{}, err
	}
	b := digest.Batch{Subscribers: map[int64]*subscribers.Subscriber{}}
	err = s.tx(ctx, func(q db) error {
		tx := q.c.(*sql.Tx)
		until := q.t(req.Now.Add(req.Lease))
		// RETURNING gives rows in no set order: sort each claim's.
		claimed := func(rows *sql.Rows, err error) error {
			got, err := collect(scanDelivery)(rows, err)
			slices.SortFunc(got, func(a, b digest.Delivery) int {
				return cmp.Or(a.NextAttemptAt.Compare(b.NextAttemptAt), cmp.Compare(a.SubscriberID, b.SubscriberID))
			})
			b.Deliveries = append(b.Deliveries, got...)
			return err
		}
		if !req.SkipExpired {
			if err := claimed(tx.StmtContext(ctx, expired).QueryContext(ctx, req.Worker, until, issueID,
				issueID, q.t(req.Now), req.Limit)); err != nil {
				return err
			}
		}
		if n := len(b.Deliveries); n < req.Limit {
			if err := claimed(tx.StmtContext(ctx, pending).QueryContext(ctx, req.Worker, until, issueID,
				issueID, q.t(req.Now), q.t(req.After.NextAttemptAt), req.After.SubscriberID, req.Limit-n)); err != nil {
				return err
			}
		}
		if len(b.Deliveries) == 0 {
			return nil
		}
		list := []byte{'['}
		for i, d := range b.Deliveries {
			if i > 0 {
				list = append(list, ',')
			}
			list = strconv.AppendInt(list, d.SubscriberID, 10)
		}
		rows, err := tx.StmtContext(ctx, recipients).QueryContext(ctx, string(append(list, ']')))
		if err != nil {
			return err
		}
		_, err = collectRows(rows, func(r *sql.Rows) (struct{}, error) {
			return struct{}{}, scanRecipient(r, nil, b.Subscribers)
		})
		return err
	})
	return b, err
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
// are updated, and returned with their subscribers and lists (one row per
// list). Every delivery has its subscriber: erasing one deletes its
// deliveries (ON DELETE CASCADE).
func (s *Store) claimPostgres(ctx context.Context, issueID string, req digest.ClaimRequest) (digest.Batch, error) {
	st, err := s.prepared(ctx, s.w, `WITH expired AS (
			SELECT subscriber_id FROM digest_deliveries WHERE issue_id = ? AND state = 'sending' AND claimed_until <= ?
			AND ?::boolean ORDER BY next_attempt_at, subscriber_id LIMIT ? FOR UPDATE SKIP LOCKED),
		pending AS (
			SELECT subscriber_id FROM digest_deliveries WHERE issue_id = ? AND state = 'pending' AND next_attempt_at <= ?
			AND (next_attempt_at, subscriber_id) > (?, ?)
			ORDER BY next_attempt_at, subscriber_id LIMIT ? FOR UPDATE SKIP LOCKED),
		due AS (SELECT subscriber_id FROM expired UNION ALL SELECT subscriber_id FROM pending LIMIT ?),
		claimed AS (
			UPDATE digest_deliveries SET state = 'sending', claimed_by = ?, claimed_until = ?, attempts = attempts + 1
			WHERE issue_id = ? AND subscriber_id IN (SELECT subscriber_id FROM due) RETURNING `+deliveryColumns+`)
		SELECT claimed.*, `+sqlq.SubscriberColumns+`, l.list, l.active, l.changed_at
		FROM claimed JOIN subscribers s ON s.id = claimed.subscriber_id
		LEFT JOIN subscriptions l ON l.subscriber_id = s.id
		ORDER BY claimed.subscriber_id, l.list`)
	if err != nil {
		return digest.Batch{}, err
	}
	q := db{s.w, s.d}
	rows, err := st.QueryContext(ctx, issueID, q.t(req.Now), !req.SkipExpired, req.Limit,
		issueID, q.t(req.Now), q.t(req.After.NextAttemptAt), req.After.SubscriberID, req.Limit, req.Limit,
		req.Worker, q.t(req.Now.Add(req.Lease)), issueID)
	if err != nil {
		return digest.Batch{}, err
	}
	b := digest.Batch{Subscribers: map[int64]*subscribers.Subscriber{}}
	_, err = collectRows(rows, func(r *sql.Rows) (struct{}, error) {
		var d digest.Delivery
		err := scanRecipient(r, []any{&d.IssueID, &d.SubscriberID, &d.State, &d.Attempts, tm{&d.NextAttemptAt},
			&d.ClaimedBy, tm{&d.ClaimedUntil}, &d.LastError, &d.MessageID, tm{&d.SentAt}}, b.Subscribers)
		if n := len(b.Deliveries); err == nil && (n == 0 || b.Deliveries[n-1].SubscriberID != d.SubscriberID) {
			b.Deliveries = append(b.Deliveries, d)
		}
		return struct{}{}, err
	})
	return b, err
}

// rowScannerFunc is a rowScanner that scans a part of a wider row.
type rowScannerFunc func(dest ...any) error

func (f rowScannerFunc) Scan(dest ...any) error { return f(dest...) }

func allSent(done []digest.Completion) bool {
	for _, c := range done {
		if c.Outcome.State != digest.StateSent {
			return false
		}
	}
	return true
}

// markSentPostgres records sent deliveries in one statement (one round
// trip): sent holds their subscriber ids, at their index in done, and ok
// is set for each row updated. Its first CTE makes the commit
// asynchronous (synchronous_commit off for this transaction, as
// outcomeTx does), which also holds when the statement is a transaction
// of its own: a lost outcome means a resend after the lease, never a lost
// message. Mail that went out is recorded even if the lease was lost.
func (s *Store) markSentPostgres(ctx context.Context, q db, issueID string, done []digest.Completion, sent []any, at map[int64]int, ok []bool, now time.Time) error {
	args := []any{q.t(now)}
	for _, id := range sent {
		args = append(args, id, done[at[id.(int64)]].Outcome.MessageID)
	}
	args = append(append(args, issueID), sent...)
	got, err := collect(func(r *sql.Rows) (int64, error) {
		var id int64
		return id, r.Scan(&id)
	})(q.query(ctx, `WITH async AS (SELECT set_config('synchronous_commit', 'off', true) AS v)
		UPDATE digest_deliveries SET state = 'sent', sent_at = ?,
		last_error = '', claimed_by = '', claimed_until = NULL,
		message_id = CASE subscriber_id`+strings.Repeat(` WHEN ? THEN ?`, len(sent))+` END
		WHERE issue_id = ? AND state <> 'sent' AND subscriber_id IN `+values(1, len(sent))+`
		AND (SELECT v FROM async) = 'off' RETURNING subscriber_id`, args...))
	for _, id := range got {
		ok[at[id]] = true
	}
	return err
}

// CompleteDelivery implements digest.Store.
func (s *Store) CompleteDelivery(ctx context.Context, issueID string, subscriberID int64, worker string, o digest.Outcome, now time.Time) (bool, error) {
	ok, err := s.CompleteDeliveries(ctx, issueID, worker, []digest.Completion{{SubscriberID: subscriberID, Outcome: o}}, now)
	if err != nil {
		return false, err
	}
	return ok[0], nil
}

// CompleteDeliveries implements digest.Store: one transaction for the lot
// (group commit), one statement for the sent ones.
func (s *Store) CompleteDeliveries(ctx context.Context, issueID, worker string, done []digest.Completion, now time.Time) ([]bool, error) {
	ok := make([]bool, len(done))
	sentStmt, err := s.prepared(ctx, s.w, `UPDATE digest_deliveries SET state = 'sent', sent_at = ?,
		last_error = '', claimed_by = '', claimed_until = NULL, message_id = ?
		WHERE issue_id = ? AND subscriber_id = ? AND state <> 'sent'`)
	if err != nil {
		return nil, fmt.Errorf("record %d deliveries of %s: %w", len(done), issueID, err)
	}
	if s.d.Name == "postgres" && allSent(done) {
		// The common group: one statement, committed on its own.
		sent, at := make([]any, len(done)), make(map[int64]int, len(done))
		for i, c := range done {
			sent[i], at[c.SubscriberID] = c.SubscriberID, i
		}
		if err := s.markSentPostgres(ctx, db{s.w, s.d}, issueID, done, sent, at, ok, now); err != nil {
			return nil, fmt.Errorf("record %d deliveries of %s: %w", len(done), issueID, err)
		}
		return ok, nil
	}
	err = s.outcomeTx(ctx, func(q db) error {
		clear(ok)
		var sent []any
		at := map[int64]int{}
		for i, c := range done {
			if c.Outcome.State == digest.StateSent {
				sent = append(sent, c.SubscriberID)
				at[c.SubscriberID] = i
				continue
			}
			n, err := q.execN(ctx, `UPDATE digest_deliveries SET state = ?, last_error = ?, next_attempt_at = ?,
				claimed_by = '', claimed_until = NULL
				WHERE issue_id = ? AND subscriber_id = ? AND state = 'sending' AND claimed_by = ?`,
				string(c.Outcome.State), c.Outcome.Error, q.t(orNow(c.Outcome.NextAttemptAt, now)), issueID, c.SubscriberID, worker)
			if err != nil {
				return err
			}
			ok[i] = n > 0
			if ok[i] && c.Outcome.Bounced {
				if _, err := q.exec(ctx, `UPDATE subscribers SET status = 'bounced', bounce_count = bounce_count + 1,
					bounced_at = ? WHERE id = ?`, q.t(now), c.SubscriberID); err != nil {
					return err
				}
			}
		}
		if len(sent) == 0 {
			return nil
		}
		// Mail that went out is recorded even if the lease was lost.
		if s.d.Name == "postgres" {
			return s.markSentPostgres(ctx, q, issueID, done, sent, at, ok, now)
		}
		// SQLite: one primary-key update per row, the statement prepared
		// once; a single UPDATE … IN (…) would have SQLite walk the
		// issue's part of the claim index instead.
		stmt := q.c.(*sql.Tx).StmtContext(ctx, sentStmt)
		for _, id := range sent {
			i := at[id.(int64)]
			res, err := stmt.ExecContext(ctx, q.t(now), done[i].Outcome.MessageID, issueID, id)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			ok[i] = n > 0
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record %d deliveries of %s: %w", len(done), issueID, err)
	}
	return ok, nil
}

// RenewClaims implements digest.Store.
func (s *Store) RenewClaims(ctx context.Context, issueID, worker string, now time.Time, lease time.Duration) (int, error) {
	var n int64
	err := s.tx(ctx, func(q db) error {
		var err error
		n, err = q.execN(ctx, `UPDATE digest_deliveries SET claimed_until = ?
			WHERE issue_id = ? AND state = 'sending' AND claimed_by = ?`, q.t(now.Add(lease)), issueID, worker)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("renew claims on %s: %w", issueID, err)
	}
	return int(n), nil
}

// NextLeaseEnd implements digest.Store.
func (s *Store) NextLeaseEnd(ctx context.Context, issueID, worker string) (time.Time, error) {
	var t time.Time
	err := s.read().row(ctx, `SELECT MIN(claimed_until) FROM digest_deliveries
		WHERE issue_id = ? AND state = 'sending' AND claimed_by <> ?`, issueID, worker).Scan(tm{&t})
	if err != nil {
		return time.Time{}, fmt.Errorf("next lease end on %s: %w", issueID, err)
	}
	return t, nil
}

// ReleaseDeliveries implements digest.Store.
func (s *Store) ReleaseDeliveries(ctx context.Context, issueID, worker string, now time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(q db) error {
		var err error
		n, err = q.execN(ctx, `UPDATE digest_deliveries SET state = 'pending', claimed_by = '', claimed_until = NULL,
			attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,
			next_attempt_at = CASE WHEN next_attempt_at < ? THEN next_attempt_at ELSE ? END
			WHERE issue_id = ? AND state = 'sending' AND claimed_by = ?`, q.t(now), q.t(now), issueID, worker)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("release deliveries of %s: %w", issueID, err)
	}
	return int(n), nil
}

// FinishIssue implements digest.Store.
func (s *Store) FinishIssue(ctx context.Context, issueID string, now time.Time) (bool, error) {
	var sent bool
	err := s.tx(ctx, func(q db) error {
		if _, err := q.exec(ctx, `UPDATE digest_issues SET status = 'sent', finished_at = ?
			WHERE id = ? AND status <> 'sent' AND NOT EXISTS (SELECT 1 FROM digest_deliveries
				WHERE issue_id = ? AND state IN ('pending', 'sending'))`, q.t(now), issueID, issueID); err != nil {
			return err
		}
		iss, err := getIssue(ctx, q, issueID)
		if err != nil {
			return err
		}
		sent = iss.Status == digest.IssueSent
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("finish digest issue %s: %w", issueID, err)
	}
	return sent, nil
}

// DeliveryCounts implements digest.Store.
func (s *Store) DeliveryCounts(ctx context.Context, issueID string) (map[digest.State]int, error) {
	out, err := countBy[digest.State](s.read().query(ctx, `SELECT state, COUNT(*) FROM digest_deliveries WHERE issue_id = ? GROUP BY state`, issueID))
	if err != nil {
		return nil, fmt.Errorf("count deliveries of %s: %w", issueID, err)
	}
	return out, nil
}

// ListDeliveries implements digest.Store.
func (s *Store) ListDeliveries(ctx context.Context, issueID string) ([]digest.Delivery, error) {
	out, err := collect(scanDelivery)(s.read().query(ctx,
		`SELECT `+deliveryColumns+` FROM digest_deliveries WHERE issue_id = ? ORDER BY subscriber_id`, issueID))
	if err != nil {
		return nil, fmt.Errorf("list deliveries of %s: %w", issueID, err)
	}
	return out, nil
}

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
// The claim itself (ClaimDeliveries) and the heartbeat (RenewClaims) do not
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
