package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/syndicated/syndicated/bounce"
)

// SubscriberDeliveries implements bounce.Store: the subscriber's
// deliveries with their issue's series, newest issue first (issue by
// issue, a lookup of the deliveries' primary key each: there is no index
// by subscriber, migration 0061).
func (s *Store) SubscriberDeliveries(ctx context.Context, subscriberID int64, limit int) ([]bounce.Delivery, error) {
	if limit <= 0 {
		limit = 100
	}
	out, err := collect(func(r *sql.Rows) (bounce.Delivery, error) {
		var d bounce.Delivery
		err := r.Scan(&d.IssueID, &d.Series, &d.SubscriberID, &d.State, &d.MessageID, tm{&d.SentAt})
		return d, err
	})(s.read().query(ctx, `SELECT d.issue_id, i.series, d.subscriber_id, d.state, d.message_id, d.sent_at
		FROM digest_deliveries d JOIN digest_issues i ON i.id = d.issue_id
		WHERE d.subscriber_id = ? ORDER BY i.created_at DESC, i.id DESC LIMIT `+fmt.Sprint(limit), subscriberID))
	if err != nil {
		return nil, fmt.Errorf("deliveries of subscriber %d: %w", subscriberID, err)
	}
	// Copies of issues still being sent that have no row yet.
	open, err := openCopies(ctx, s.read(), subscriberID)
	if err != nil {
		return nil, fmt.Errorf("deliveries of subscriber %d: %w", subscriberID, err)
	}
	if len(open) == 0 {
		return out, nil
	}
	created := map[string]time.Time{}
	for _, c := range open {
		created[c.issueID] = c.createdAt
		out = append(out, bounce.Delivery{IssueID: c.issueID, Series: c.series, SubscriberID: subscriberID, State: string(c.state)})
	}
	ids := make([]string, 0, len(out))
	for _, d := range out {
		if _, ok := created[d.IssueID]; !ok {
			ids = append(ids, d.IssueID)
		}
	}
	if err := s.issueTimes(ctx, ids, created); err != nil {
		return nil, fmt.Errorf("deliveries of subscriber %d: %w", subscriberID, err)
	}
	slices.SortFunc(out, func(a, b bounce.Delivery) int {
		return cmp.Or(created[b.IssueID].Compare(created[a.IssueID]), cmp.Compare(b.IssueID, a.IssueID))
	})
	return out[:min(len(out), limit)], nil
}

const eventColumns = `id, event_key, source, kind, issue_id, COALESCE(subscriber_id, 0), status, code, diagnostic,
	occurred_at, received_at, action, applied_at`

func scanEvent(r rowScanner) (bounce.Event, error) {
	var e bounce.Event
	err := r.Scan(&e.ID, &e.Key, &e.Source, &e.Kind, &e.IssueID, &e.SubscriberID, &e.Status, &e.Code, &e.Diagnostic,
		tm{&e.OccurredAt}, tm{&e.ReceivedAt}, &e.Action, tm{&e.AppliedAt})
	return e, err
}

// RecordEvent implements bounce.Store: an insert that does nothing when
// the key exists (on PostgreSQL waiting for a concurrent insert of the same
// key to commit), then the stored row.
func (s *Store) RecordEvent(ctx context.Context, e bounce.Event) (bounce.Event, bool, error) {
	var stored bounce.Event
	created := false
	err := s.tx(ctx, func(q db) error {
		var sub any
		if e.SubscriberID != 0 {
			sub = e.SubscriberID
		}
		var id int64
		err := q.row(ctx, `INSERT INTO bounce_events (event_key, source, kind, issue_id, subscriber_id, status, code,
			diagnostic, occurred_at, received_at) VALUES `+values(1, 10)+`
			ON CONFLICT (event_key) DO NOTHING RETURNING id`,
			e.Key, string(e.Source), string(e.Kind), e.IssueID, sub, e.Status, e.Code, e.Diagnostic,
			q.t(e.OccurredAt), q.t(e.ReceivedAt)).Scan(&id)
		switch {
		case err == nil:
			created = true
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		stored, err = scanEvent(q.row(ctx, `SELECT `+eventColumns+` FROM bounce_events WHERE event_key = ?`, e.Key))
		return err
	})
	if err != nil {
		return bounce.Event{}, false, fmt.Errorf("record %s event: %w", e.Kind, err)
	}
	return stored, created, nil
}

// FinishEvent implements bounce.Store.
func (s *Store) FinishEvent(ctx context.Context, id int64, action string, at time.Time) error {
	q := db{s.w, s.d}
	_, err := q.exec(ctx, `UPDATE bounce_events SET action = ?, applied_at = ? WHERE id = ?`, action, q.t(at), id)
	if err != nil {
		return fmt.Errorf("finish event %d: %w", id, err)
	}
	return nil
}

// SoftBounces implements bounce.Store. Events after the last unbounce are
// those with a greater id (ids grow with each insert), which no clock can
// disagree about.
func (s *Store) SoftBounces(ctx context.Context, subscriberID int64, since time.Time) (bounce.SoftCount, error) {
	q := s.read()
	var c bounce.SoftCount
	err := q.row(ctx, `SELECT COUNT(*), COUNT(DISTINCT issue_id) FROM bounce_events
		WHERE subscriber_id = ? AND kind = 'soft' AND received_at >= ?
		AND id > COALESCE((SELECT MAX(id) FROM bounce_events WHERE subscriber_id = ? AND kind = 'unbounce'), 0)`,
		subscriberID, q.t(since), subscriberID).Scan(&c.Events, &c.Issues)
	if err != nil {
		return c, fmt.Errorf("soft bounces of subscriber %d: %w", subscriberID, err)
	}
	return c, nil
}

// SubscriberEvents implements bounce.Store.
func (s *Store) SubscriberEvents(ctx context.Context, subscriberID int64) ([]bounce.Event, error) {
	out, err := collect(func(r *sql.Rows) (bounce.Event, error) { return scanEvent(r) })(
		s.read().query(ctx, `SELECT `+eventColumns+` FROM bounce_events WHERE subscriber_id = ? ORDER BY id`, subscriberID))
	if err != nil {
		return nil, fmt.Errorf("events of subscriber %d: %w", subscriberID, err)
	}
	return out, nil
}

// IssueEventCounts implements bounce.Store.
func (s *Store) IssueEventCounts(ctx context.Context, issueID string) (map[bounce.Kind]int, error) {
	out, err := countBy[bounce.Kind](s.read().query(ctx, `SELECT kind, COUNT(*) FROM bounce_events WHERE issue_id = ? GROUP BY kind`, issueID))
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", issueID, err)
	}
	return out, nil
}

// MarkBounced implements subscribers.Store: only an active subscriber
// changes, as the digest's own bounces do.
func (s *Store) MarkBounced(ctx context.Context, id int64, at time.Time) (bool, error) {
	q := db{s.w, s.d}
	n, err := q.execN(ctx, `UPDATE subscribers SET status = 'bounced', bounce_count = bounce_count + 1, bounced_at = ?
		WHERE id = ? AND status = 'active'`, q.t(at), id)
	if err != nil {
		return false, fmt.Errorf("mark subscriber %d bounced: %w", id, err)
	}
	return n > 0, nil
}

// recordUnbounces adds an operator's unbounce event for each subscriber,
// in the unbounce's transaction.
func recordUnbounces(ctx context.Context, q db, ids []int64, now time.Time) error {
	for _, id := range ids {
		if _, err := q.exec(ctx, `INSERT INTO bounce_events (event_key, source, kind, subscriber_id, occurred_at, received_at, action, applied_at)
			VALUES `+values(1, 8)+` ON CONFLICT (event_key) DO NOTHING`,
			fmt.Sprintf("unbounce:%d:%d", id, now.UnixNano()), string(bounce.SourceOperator), string(bounce.KindUnbounce), id,
			q.t(now), q.t(now), "active again", q.t(now)); err != nil {
			return err
		}
	}
	return nil
}

// issueTimes adds the creation times of these issues to at.
func (s *Store) issueTimes(ctx context.Context, ids []string, at map[string]time.Time) error {
	for _, id := range ids {
		iss, err := getIssue(ctx, s.read(), id)
		if err != nil {
			return err
		}
		at[id] = iss.CreatedAt
	}
	return nil
}
