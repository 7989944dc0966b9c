package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/subscribers"
)

// Readers' cadences and pauses, and the issues of every cadence (migration
// 0050). Issue creation and a change of cadence take the list's issue
// lock, so that a reader's coverage (covered_until: how far the list's
// mail to them has gone) is read and written by one at a time; see
// digest.CadenceStore.

// lockIssues takes the list's issue lock for the rest of q's transaction:
// an advisory lock on PostgreSQL (keyed like the subscribers' address
// locks, in a namespace no address uses); on SQLite the write transaction
// already excludes every other writer.
func (s *Store) lockIssues(ctx context.Context, q db, list string) error {
	if s.d.LockKey == "" {
		return nil
	}
	_, err := q.exec(ctx, s.d.LockKey, "issues of list "+list)
	return err
}

// GetPreferences implements subscribers.PreferenceStore.
func (s *Store) GetPreferences(ctx context.Context, ids []int64) (map[int64]subscribers.Preferences, error) {
	out := map[int64]subscribers.Preferences{}
	q := s.read()
	for start := 0; start < len(ids); start += q.d.Batch {
		chunk := ids[start:min(start+q.d.Batch, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		in := values(1, len(chunk))
		_, err := collect(func(r *sql.Rows) (struct{}, error) {
			var (
				id         int64
				list       string
				c          subscribers.Cadence
				changedAt  time.Time
				covered    time.Time
				catchUpBit bool
			)
			if err := r.Scan(&id, &list, &c, tm{&changedAt}, tm{&covered}, &catchUpBit); err != nil {
				return struct{}{}, err
			}
			p := out[id]
			if p.Cadences == nil {
				p.Cadences = map[string]subscribers.Cadence{}
			}
			p.Cadences[list] = c
			out[id] = p
			return struct{}{}, nil
		})(q.query(ctx, `SELECT subscriber_id, list, cadence, changed_at, covered_until, catch_up
			FROM subscription_cadences WHERE subscriber_id IN `+in+` ORDER BY subscriber_id, list`, args...))
		if err != nil {
			return nil, fmt.Errorf("get preferences: %w", err)
		}
		_, err = collect(func(r *sql.Rows) (struct{}, error) {
			var id int64
			var until time.Time
			if err := r.Scan(&id, tm{&until}); err != nil {
				return struct{}{}, err
			}
			p := out[id]
			p.PausedUntil = until
			out[id] = p
			return struct{}{}, nil
		})(q.query(ctx, `SELECT subscriber_id, paused_until FROM subscriber_pauses WHERE subscriber_id IN `+in, args...))
		if err != nil {
			return nil, fmt.Errorf("get preferences: %w", err)
		}
	}
	return out, nil
}

// SetCadence implements subscribers.PreferenceStore. The reader's
// coverage becomes the later of what it was and the until of the latest
// issue of the list of cadence from made since they took it (their
// choice's changed_at; no choice: any). Read from the issues alone, it
// does not depend on how the outbox keeps deliveries; an issue of that
// cadence they were not in (paused, unsubscribed) counts too, which only
// means the stories it held are not sent to them later.
func (s *Store) SetCadence(ctx context.Context, subscriberID int64, list string, from, to subscribers.Cadence, now time.Time) error {
	err := s.tx(ctx, func(q db) error {
		if err := s.lockIssues(ctx, q, list); err != nil {
			return err
		}
		var (
			cur           sql.NullString
			took, covered time.Time
		)
		err := q.row(ctx, `SELECT cadence, changed_at, covered_until FROM subscription_cadences WHERE subscriber_id = ? AND list = ?`,
			subscriberID, list).Scan(&cur, tm{&took}, tm{&covered})
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if cur.Valid && subscribers.Cadence(cur.String) == to {
			return nil
		}
		var last time.Time
		if err := q.row(ctx, `SELECT MAX(until) FROM digest_issues WHERE series = ? AND cadence = ? AND created_at >= ?`,
			list, string(from), q.t(took)).Scan(tm{&last}); err != nil {
			return err
		}
		if last.After(covered) {
			covered = last
		}
		_, err = q.exec(ctx, `INSERT INTO subscription_cadences (subscriber_id, list, cadence, changed_at, covered_until, catch_up)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (subscriber_id, list) DO UPDATE SET cadence = excluded.cadence,
			changed_at = excluded.changed_at, covered_until = excluded.covered_until, catch_up = excluded.catch_up`,
			subscriberID, list, string(to), q.t(now), q.n(covered), !covered.IsZero())
		return err
	})
	if err != nil {
		return fmt.Errorf("set cadence of subscriber %d for %s: %w", subscriberID, list, err)
	}
	return nil
}

// SetPause implements subscribers.PreferenceStore. A pause also ends any
// catching up: the mail a reader paused is not sent afterwards.
func (s *Store) SetPause(ctx context.Context, subscriberID int64, until, now time.Time) error {
	err := s.tx(ctx, func(q db) error {
		if until.IsZero() {
			_, err := q.exec(ctx, `DELETE FROM subscriber_pauses WHERE subscriber_id = ?`, subscriberID)
			return err
		}
		if _, err := q.exec(ctx, `INSERT INTO subscriber_pauses (subscriber_id, paused_until, paused_at) VALUES (?, ?, ?)
			ON CONFLICT (subscriber_id) DO UPDATE SET paused_until = excluded.paused_until, paused_at = excluded.paused_at`,
			subscriberID, q.t(until), q.t(now)); err != nil {
			return err
		}
		_, err := q.exec(ctx, `UPDATE subscription_cadences SET catch_up = ? WHERE subscriber_id = ?`, false, subscriberID)
		return err
	})
	if err != nil {
		return fmt.Errorf("pause subscriber %d: %w", subscriberID, err)
	}
	return nil
}

// SetImportedPreferences implements subscribers.PreferenceStore: one
// INSERT … SELECT per cadence (or pause) and batch of addresses.
func (s *Store) SetImportedPreferences(ctx context.Context, prefs map[string]subscribers.Preferences, created time.Time) error {
	type key struct {
		list    string
		cadence subscribers.Cadence
		paused  time.Time
	}
	groups := map[key][]any{}
	for email, p := range prefs {
		k := subscribers.Key(email) // as the subscriber is found, whatever its case
		for list, c := range p.Cadences {
			groups[key{list: list, cadence: c}] = append(groups[key{list: list, cadence: c}], k)
		}
		if !p.PausedUntil.IsZero() {
			groups[key{paused: p.PausedUntil}] = append(groups[key{paused: p.PausedUntil}], k)
		}
	}
	err := s.tx(ctx, func(q db) error {
		for k, emails := range groups {
			for start := 0; start < len(emails); start += q.d.Batch {
				chunk := emails[start:min(start+q.d.Batch, len(emails))]
				var (
					query string
					args  []any
				)
				if k.paused.IsZero() {
					query = `INSERT INTO subscription_cadences (subscriber_id, list, cadence, changed_at)
						SELECT id, ?, ?, ? FROM subscribers WHERE created_at = ? AND email_key IN ` + values(1, len(chunk)) + `
						ON CONFLICT (subscriber_id, list) DO NOTHING`
					args = []any{k.list, string(k.cadence), q.t(created), q.t(created)}
				} else {
					query = `INSERT INTO subscriber_pauses (subscriber_id, paused_until, paused_at)
						SELECT id, ?, ? FROM subscribers WHERE created_at = ? AND email_key IN ` + values(1, len(chunk)) + `
						ON CONFLICT (subscriber_id) DO NOTHING`
					args = []any{q.t(k.paused), q.t(created), q.t(created)}
				}
				// Only the subscribers created at created (an import's
				// rows): one that was there before is left as it is.
				if _, err := q.exec(ctx, query, append(args, chunk...)...); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set imported preferences: %w", err)
	}
	return nil
}

// SubscriberActivity implements subscribers.PreferenceStore.
func (s *Store) SubscriberActivity(ctx context.Context, subscriberID int64) ([]subscribers.Activity, error) {
	q := s.read()
	var out []subscribers.Activity
	scan := func(kind string) func(r *sql.Rows) (struct{}, error) {
		return func(r *sql.Rows) (struct{}, error) {
			var a subscribers.Activity
			var sent time.Time
			if err := r.Scan(tm{&a.At}, &a.Ref, &a.State, &a.Detail, tm{&sent}); err != nil {
				return struct{}{}, err
			}
			if !sent.IsZero() {
				a.At = sent
			}
			a.Kind = kind
			out = append(out, a)
			return struct{}{}, nil
		}
	}
	for _, part := range []struct{ kind, query string }{
		{"confirmation", `SELECT issued_at, lists, state, last_error, sent_at FROM confirmation_outbox WHERE subscriber_id = ?`},
		{"welcome", `SELECT created_at, lists, state, last_error, sent_at FROM welcome_outbox WHERE subscriber_id = ?`},
		// Issue by issue, each a lookup of the deliveries' primary key
		// (issue_id, subscriber_id): no index by subscriber needed.
		{"issue", `SELECT i.created_at, d.issue_id, d.state, d.last_error, d.sent_at
			FROM digest_issues i JOIN digest_deliveries d ON d.issue_id = i.id AND d.subscriber_id = ?`},
	} {
		if _, err := collect(scan(part.kind))(q.query(ctx, part.query, subscriberID)); err != nil {
			return nil, fmt.Errorf("activity of subscriber %d: %w", subscriberID, err)
		}
	}
	// Issues still being sent whose snapshot holds the subscriber, not yet
	// tried (no row).
	open, err := openCopies(ctx, q, subscriberID)
	if err != nil {
		return nil, fmt.Errorf("activity of subscriber %d: %w", subscriberID, err)
	}
	for _, c := range open {
		out = append(out, subscribers.Activity{Kind: "issue", At: c.createdAt, Ref: c.issueID, State: string(c.state)})
	}
	return out, nil
}

// CadenceCounts implements subscribers.PreferenceStore.
func (s *Store) CadenceCounts(ctx context.Context, now time.Time) ([]subscribers.CadenceCount, error) {
	q := s.read()
	out, err := collect(func(r *sql.Rows) (subscribers.CadenceCount, error) {
		var c subscribers.CadenceCount
		var paused int
		err := r.Scan(&c.List, &c.Cadence, &paused, &c.Count)
		c.Paused = paused == 1
		return c, err
	})(q.query(ctx, `SELECT l.list, COALESCE(c.cadence, ''), CASE WHEN p.paused_until > ? THEN 1 ELSE 0 END, COUNT(*)
		FROM subscriptions l JOIN subscribers s ON s.id = l.subscriber_id
		LEFT JOIN subscription_cadences c ON c.subscriber_id = l.subscriber_id AND c.list = l.list
		LEFT JOIN subscriber_pauses p ON p.subscriber_id = l.subscriber_id
		WHERE l.active = ? AND s.status = 'active' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, q.t(now), true))
	if err != nil {
		return nil, fmt.Errorf("count subscribers by cadence: %w", err)
	}
	return out, nil
}

// cadenceCondition is the SQL condition (on c, the reader's row of
// subscription_cadences, if any) that selects the readers of q.Cadence,
// and its arguments. A choice the list does not offer counts as no choice.
func cadenceCondition(rq digest.RecipientQuery) (string, []any) {
	var (
		conds []string
		args  []any
	)
	if len(rq.Offered) == 0 || slices.Contains(rq.Offered, rq.Cadence) {
		conds, args = append(conds, "c.cadence = ?"), append(args, string(rq.Cadence))
	}
	if rq.Default {
		conds = append(conds, "c.cadence IS NULL")
		if len(rq.Offered) > 0 {
			conds = append(conds, "c.cadence NOT IN "+values(1, len(rq.Offered)))
			for _, o := range rq.Offered {
				args = append(args, string(o))
			}
		}
	}
	if len(conds) == 0 {
		return "1 = 0", nil
	}
	return "(" + strings.Join(conds, " OR ") + ")", args
}

// recipientsSQL selects, in subscriber order, the readers rq selects with
// their coverage: subscriber_id, covered_until, catch_up.
func recipientsSQL(rq digest.RecipientQuery, q db) (string, []any) {
	cond, cargs := cadenceCondition(rq)
	args := append([]any{rq.List, true, q.t(rq.Now)}, cargs...)
	return `SELECT l.subscriber_id, c.covered_until, COALESCE(c.catch_up, ?) FROM subscriptions l
		JOIN subscribers s ON s.id = l.subscriber_id
		LEFT JOIN subscription_cadences c ON c.subscriber_id = l.subscriber_id AND c.list = l.list
		LEFT JOIN subscriber_pauses p ON p.subscriber_id = l.subscriber_id
		WHERE l.list = ? AND l.active = ? AND s.status = 'active'
		AND (p.paused_until IS NULL OR p.paused_until <= ?) AND ` + cond + `
		ORDER BY l.subscriber_id`, append([]any{false}, args...)
}

// CreateCadenceIssue implements digest.CadenceStore.
func (s *Store) CreateCadenceIssue(ctx context.Context, iss digest.Issue, rq digest.RecipientQuery, now time.Time) (*digest.Issue, bool, error) {
	floor := rq.Floor
	if floor.IsZero() || floor.After(iss.Since) {
		floor = iss.Since
	}
	var created bool
	err := s.tx(ctx, func(q db) error {
		created = false
		if err := s.lockIssues(ctx, q, rq.List); err != nil {
			return err
		}
		var exists bool
		if err := q.row(ctx, `SELECT EXISTS (SELECT 1 FROM digest_issues WHERE id = ?)`, iss.ID).Scan(&exists); err != nil || exists {
			return err
		}
		query, args := recipientsSQL(rq, q)
		var (
			ids     []int64
			cutoffs []any   // issue_id, subscriber_id, after: rows of digest_cutoffs
			covered []int64 // recipients whose coverage is cleared
		)
		_, err := collect(func(r *sql.Rows) (struct{}, error) {
			var (
				id      int64
				until   time.Time
				catchUp bool
			)
			if err := r.Scan(&id, tm{&until}, &catchUp); err != nil {
				return struct{}{}, err
			}
			cut := iss.Since
			if !until.IsZero() {
				switch {
				case !until.Before(iss.Until):
					return struct{}{}, nil // their mail has gone this far: nothing new
				case until.After(iss.Since):
					cut = until
				case catchUp:
					cut = until
					if cut.Before(floor) {
						cut = floor
					}
				}
				covered = append(covered, id)
			}
			ids = append(ids, id)
			if !cut.Equal(iss.Since) {
				cutoffs = append(cutoffs, iss.ID, id, q.t(cut))
			}
			return struct{}{}, nil
		})(q.query(ctx, query, args...))
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return errNoRecipients
		}
		if created, err = s.createIssueTx(ctx, q, iss, ids, now); err != nil || !created {
			return err
		}
		if _, err := q.exec(ctx, `UPDATE digest_issues SET cadence = ? WHERE id = ?`, string(rq.Cadence), iss.ID); err != nil {
			return err
		}
		for len(cutoffs) > 0 {
			k := min(len(cutoffs)/3, q.d.Batch)
			rows, rowArgs := q.rows([]string{"text", "BIGINT", "TIME"}, cutoffs[:k*3])
			if _, err := q.exec(ctx, `INSERT INTO digest_cutoffs (issue_id, subscriber_id, after) `+rows, rowArgs...); err != nil {
				return err
			}
			cutoffs = cutoffs[k*3:]
		}
		for start := 0; start < len(covered); start += q.d.Batch {
			chunk := covered[start:min(start+q.d.Batch, len(covered))]
			args := []any{false, rq.List}
			for _, id := range chunk {
				args = append(args, id)
			}
			if _, err := q.exec(ctx, `UPDATE subscription_cadences SET covered_until = NULL, catch_up = ?
				WHERE list = ? AND subscriber_id IN `+values(1, len(chunk)), args...); err != nil {
				return err
			}
		}
		return nil
	})
	return s.createdIssue(ctx, iss.ID, created, err)
}

// Recipients implements digest.CadenceStore.
func (s *Store) Recipients(ctx context.Context, rq digest.RecipientQuery) ([]int64, error) {
	q := s.read()
	query, args := recipientsSQL(rq, q)
	out, err := collect(func(r *sql.Rows) (int64, error) {
		var (
			id      int64
			until   time.Time
			catchUp bool
		)
		return id, r.Scan(&id, tm{&until}, &catchUp)
	})(q.query(ctx, query, args...))
	if err != nil {
		return nil, fmt.Errorf("recipients of %s %s: %w", rq.Cadence, rq.List, err)
	}
	return out, nil
}

// LastIssueOf implements digest.CadenceStore.
func (s *Store) LastIssueOf(ctx context.Context, series string, c subscribers.Cadence, exceptID string) (*digest.Issue, error) {
	iss, err := scanIssue(s.read().row(ctx, `SELECT `+issueColumns+` FROM digest_issues
		WHERE series = ? AND cadence = ? AND id <> ? ORDER BY until DESC, id DESC LIMIT 1`, series, string(c), exceptID))
	if errors.Is(err, sql.ErrNoRows) {
		err = digest.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("last %s issue of %s: %w", c, series, err)
	}
	return iss, nil
}

// CatchUpFrom implements digest.CadenceStore.
func (s *Store) CatchUpFrom(ctx context.Context, rq digest.RecipientQuery, since time.Time) (time.Time, error) {
	q := s.read()
	cond, cargs := cadenceCondition(rq)
	args := append([]any{rq.List, true, true, q.t(since), q.t(rq.Now)}, cargs...)
	var from time.Time
	err := q.row(ctx, `SELECT MIN(c.covered_until) FROM subscription_cadences c
		JOIN subscriptions l ON l.subscriber_id = c.subscriber_id AND l.list = c.list
		JOIN subscribers s ON s.id = c.subscriber_id
		LEFT JOIN subscriber_pauses p ON p.subscriber_id = c.subscriber_id
		WHERE c.list = ? AND l.active = ? AND c.catch_up = ? AND c.covered_until < ? AND s.status = 'active'
		AND (p.paused_until IS NULL OR p.paused_until <= ?) AND `+cond, args...).Scan(tm{&from})
	if err != nil {
		return time.Time{}, fmt.Errorf("catch-up of %s %s readers: %w", rq.Cadence, rq.List, err)
	}
	return from, nil
}

// IssueCutoffs implements digest.CadenceStore.
func (s *Store) IssueCutoffs(ctx context.Context, issueID string) (map[int64]time.Time, error) {
	out := map[int64]time.Time{}
	_, err := collect(func(r *sql.Rows) (struct{}, error) {
		var id int64
		var at time.Time
		err := r.Scan(&id, tm{&at})
		out[id] = at
		return struct{}{}, err
	})(s.read().query(ctx, `SELECT subscriber_id, after FROM digest_cutoffs WHERE issue_id = ?`, issueID))
	if err != nil {
		return nil, fmt.Errorf("cutoffs of %s: %w", issueID, err)
	}
	return out, nil
}

// SeriesIssues implements digest.CadenceStore.
func (s *Store) SeriesIssues(ctx context.Context, series string, limit, offset int) ([]*digest.Issue, error) {
	out, err := collect(func(r *sql.Rows) (*digest.Issue, error) { return scanIssue(r) })(s.read().query(ctx,
		`SELECT `+issueColumns+` FROM digest_issues WHERE series = ? ORDER BY until DESC, id DESC`+
			fmt.Sprintf(" LIMIT %d OFFSET %d", max(limit, 0), max(offset, 0)), series))
	if err != nil {
		return nil, fmt.Errorf("issues of %s: %w", series, err)
	}
	return out, nil
}
