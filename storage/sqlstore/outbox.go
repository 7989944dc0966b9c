package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/storage/internal/sqlq"
	"github.com/syndicated/syndicated/subscribers"
)

// The digest outbox (docs/digest.md, "The outbox"). An issue's recipients are a snapshot
// of subscriber ids in ascending order (digest_recipients, chunks of
// chunkSize ids), written once with the issue. A claim takes the next
// positions of the snapshot (one UPDATE of the issue's cursor in
// digest_snapshots) and records them as one row of digest_claims with its
// lease, or takes over a claim whose lease ran out. A delivery gets its
// row in digest_deliveries only when its outcome is known: sent ones in
// one multi-row INSERT per group of outcomes, and the exceptions (a
// retry, failed, skipped). A claim taken over sends again only its
// recipients without a row: the mail that was in flight when its worker
// died. Retries (rows pending again) and the rows of issues created
// before the snapshot are claimed row by row, as before.
//
// On PostgreSQL the claim locks the cursor row (concurrent claims take
// turns on it, briefly) and takes over lapsed claims with FOR UPDATE SKIP
// LOCKED; on SQLite every write transaction already excludes the others.

// chunkSize is how many subscriber ids one row of digest_recipients holds.
const chunkSize = 1000

// chunkCacheSize bounds the snapshot chunks a Store keeps in memory. A
// snapshot never changes, so a chunk read once serves every claim of its
// positions.
const chunkCacheSize = 64

type chunkKey struct {
	issue string
	chunk int
}

// chunkCache holds decoded chunks of snapshots.
type chunkCache struct {
	mu sync.Mutex
	m  map[chunkKey][]int64
}

func (c *chunkCache) get(k chunkKey) []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

func (c *chunkCache) put(k chunkKey, ids []int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= chunkCacheSize {
		c.m = make(map[chunkKey][]int64, chunkCacheSize)
	}
	c.m[k] = ids
}

// encodeIDs writes ids as a JSON array.
func encodeIDs(ids []int64) string {
	b := make([]byte, 0, 2+8*len(ids))
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

// decodeIDs reads what encodeIDs wrote.
func decodeIDs(s string) ([]int64, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, fmt.Errorf("snapshot chunk: not a JSON array: %.20q", s)
	}
	s = s[1 : len(s)-1]
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := make([]int64, 0, strings.Count(s, ",")+1)
	for f := range strings.SplitSeq(s, ",") {
		id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("snapshot chunk: %w", err)
		}
		out = append(out, id)
	}
	return out, nil
}

// idsIn is a condition "col is one of ids" and its argument: an array on
// PostgreSQL, a JSON array on SQLite.
func (q db) idsIn(col string, ids []int64) (string, any) {
	if q.d.Unnest {
		return col + ` = ANY(?)`, ids
	}
	return col + ` IN (SELECT value FROM json_each(?))`, encodeIDs(ids)
}

// writeSnapshot stores the recipients of a new issue (ascending ids) and
// its cursor.
func writeSnapshot(ctx context.Context, q db, issueID string, ids []int64, now time.Time) error {
	if _, err := q.exec(ctx, `INSERT INTO digest_snapshots (issue_id, total, claimed_to, claim_from, created_at)
		VALUES (?, ?, 0, 0, ?)`, issueID, len(ids), q.t(now)); err != nil {
		return err
	}
	const perStatement = 50 // chunks
	for start := 0; start < len(ids); start += perStatement * chunkSize {
		end := min(start+perStatement*chunkSize, len(ids))
		var args []any
		for c := start; c < end; c += chunkSize {
			part := ids[c:min(c+chunkSize, end)]
			args = append(args, issueID, c/chunkSize, part[0], part[len(part)-1], encodeIDs(part))
		}
		if _, err := q.exec(ctx, `INSERT INTO digest_recipients (issue_id, chunk, first_id, last_id, ids) VALUES `+
			values(len(args)/5, 5), args...); err != nil {
			return err
		}
	}
	return nil
}

// snapshotIDs returns the subscriber ids at positions from … from+n-1 of
// the issue's snapshot.
func (s *Store) snapshotIDs(ctx context.Context, q db, issueID string, from, n int) ([]int64, error) {
	out := make([]int64, 0, n)
	for pos := from; pos < from+n; {
		k := chunkKey{issueID, pos / chunkSize}
		ids := s.chunks.get(k)
		if ids == nil {
			var text string
			if err := q.row(ctx, `SELECT ids FROM digest_recipients WHERE issue_id = ? AND chunk = ?`, issueID, k.chunk).Scan(&text); err != nil {
				return nil, fmt.Errorf("snapshot chunk %d: %w", k.chunk, err)
			}
			var err error
			if ids, err = decodeIDs(text); err != nil {
				return nil, err
			}
			s.chunks.put(k, ids)
		}
		off := pos - k.chunk*chunkSize
		take := min(from+n-pos, len(ids)-off)
		if take <= 0 {
			return nil, fmt.Errorf("snapshot chunk %d holds %d ids, position %d wanted", k.chunk, len(ids), pos)
		}
		out = append(out, ids[off:off+take]...)
		pos += take
	}
	return out, nil
}

// unrecorded returns those of ids (ascending) whose subscriber still
// exists and that have no row of the issue in digest_deliveries: what a
// claim of them still has to send.
func unrecorded(ctx context.Context, q db, issueID string, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cond, arg := q.idsIn("s.id", ids)
	return collect(func(r *sql.Rows) (int64, error) {
		var id int64
		return id, r.Scan(&id)
	})(q.query(ctx, `SELECT s.id FROM subscribers s WHERE `+cond+`
		AND NOT EXISTS (SELECT 1 FROM digest_deliveries d WHERE d.issue_id = ? AND d.subscriber_id = s.id)
		ORDER BY s.id`, arg, issueID))
}

// claimRow is a row of digest_claims.
type claimRow struct {
	firstID, lastID int64
	firstPos, n     int
	attempts        int
	claimedBy       string
	claimedUntil    time.Time
}

const claimColumns = `first_id, last_id, first_pos, n, attempts, claimed_by, claimed_until`

func scanClaim(r rowScanner) (claimRow, error) {
	var c claimRow
	return c, r.Scan(&c.firstID, &c.lastID, &c.firstPos, &c.n, &c.attempts, &c.claimedBy, tm{&c.claimedUntil})
}

const deliveryColumns = `issue_id, subscriber_id, state, attempts, next_attempt_at, claimed_by, claimed_until,
	last_error, message_id, sent_at`

func scanDelivery(r *sql.Rows) (digest.Delivery, error) {
	var d digest.Delivery
	err := r.Scan(&d.IssueID, &d.SubscriberID, &d.State, &d.Attempts, tm{&d.NextAttemptAt}, &d.ClaimedBy,
		tm{&d.ClaimedUntil}, &d.LastError, &d.MessageID, tm{&d.SentAt})
	return d, err
}

// ClaimBatch implements digest.Store, in one transaction: lapsed claims
// taken over first (unless req.SkipExpired), then rows due (retries, and
// the rows of issues created before the snapshot) after req.After, then
// the next positions of the snapshot, up to req.Limit deliveries, and
// their subscribers. The claim commits durably (not through outcomeTx):
// it is the record that a message may be on its way, before any SMTP
// transaction, even across a crash of the database server.
func (s *Store) ClaimBatch(ctx context.Context, issueID string, req digest.ClaimRequest) (digest.Batch, error) {
	if err := ctx.Err(); err != nil {
		return digest.Batch{}, fmt.Errorf("claim deliveries of %s: %w", issueID, err)
	}
	// Once begun, the claim is not cut short by ctx: a cancellation
	// during its COMMIT could leave the client unsure whether it
	// committed, and the sender would hand back its claims before the
	// server had finished writing this one (which would then wait for
	// its lease to run out). The claim is a few short statements; a
	// minute bounds it all the same.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var b digest.Batch
	err := s.tx(ctx, func(q db) error {
		b = digest.Batch{Subscribers: map[int64]*subscribers.Subscriber{}}
		if s.d.Name == "postgres" {
			// The statements below take arrays and times as parameters:
			// left to choose, PostgreSQL plans them anew at every claim,
			// for the same plan.
			if _, err := q.exec(ctx, `SET LOCAL plan_cache_mode = force_generic_plan`); err != nil {
				return err
			}
		}
		var err error
		b.Deliveries, err = s.claimTx(ctx, q, issueID, req)
		if err != nil || len(b.Deliveries) == 0 {
			return err
		}
		return s.claimedSubscribers(ctx, q, b)
	})
	if err != nil {
		return digest.Batch{}, fmt.Errorf("claim deliveries of %s: %w", issueID, err)
	}
	// A recipient erased since the snapshot is not sent (its rows went
	// with it; its position in the snapshot stays, with nothing to send).
	b.Deliveries = slices.DeleteFunc(b.Deliveries, func(d digest.Delivery) bool { return b.Subscribers[d.SubscriberID] == nil })
	slices.SortFunc(b.Deliveries, func(a, b digest.Delivery) int { return cmp.Compare(a.SubscriberID, b.SubscriberID) })
	return b, nil
}

// claimedSubscribers loads the subscribers of b's deliveries into
// b.Subscribers. A claim of the snapshot's positions holds ids in order,
// mostly consecutive: when they fill at least half of the range they
// span, the range is read (one walk of each primary key, the two joined
// in order) and the ids not claimed are left out here; otherwise each
// id is looked up.
func (s *Store) claimedSubscribers(ctx context.Context, q db, b digest.Batch) error {
	ids := make([]int64, len(b.Deliveries))
	for i, d := range b.Deliveries {
		ids[i] = d.SubscriberID
	}
	lo, hi := slices.Min(ids), slices.Max(ids)
	var rows *sql.Rows
	var err error
	if hi-lo < 2*int64(len(ids)) {
		rows, err = q.query(ctx, `SELECT `+sqlq.SubscriberColumns+`, l.list, l.active, l.changed_at
			FROM subscribers s LEFT JOIN subscriptions l ON l.subscriber_id = s.id AND l.subscriber_id BETWEEN ? AND ?
			WHERE s.id BETWEEN ? AND ? ORDER BY s.id, l.list`, lo, hi, lo, hi)
	} else {
		cond, arg := q.idsIn("s.id", ids)
		rows, err = q.query(ctx, `SELECT `+sqlq.SubscriberColumns+`, l.list, l.active, l.changed_at
			FROM subscribers s LEFT JOIN subscriptions l ON l.subscriber_id = s.id
			WHERE `+cond+` ORDER BY s.id, l.list`, arg)
	}
	if err != nil {
		return err
	}
	if _, err := collectRows(rows, func(r *sql.Rows) (struct{}, error) {
		return struct{}{}, scanRecipient(r, nil, b.Subscribers)
	}); err != nil {
		return err
	}
	if len(b.Subscribers) > len(ids) {
		claimed := make(map[int64]bool, len(ids))
		for _, id := range ids {
			claimed[id] = true
		}
		maps.DeleteFunc(b.Subscribers, func(id int64, _ *subscribers.Subscriber) bool { return !claimed[id] })
	}
	return nil
}

// claimTx is ClaimBatch's claim, without the subscribers.
func (s *Store) claimTx(ctx context.Context, q db, issueID string, req digest.ClaimRequest) ([]digest.Delivery, error) {
	var out []digest.Delivery
	until := req.Now.Add(req.Lease)
	var created time.Time // the snapshot's, read once
	snapshotCreated := func() (time.Time, error) {
		if created.IsZero() {
			err := q.row(ctx, `SELECT created_at FROM digest_snapshots WHERE issue_id = ?`, issueID).Scan(tm{&created})
			return created, err
		}
		return created, nil
	}
	// A claim's key is its first subscriber id (its primary key with the
	// issue's).
	add := func(claim int64, ids []int64, attempts int, at time.Time) {
		for _, id := range ids {
			out = append(out, digest.Delivery{IssueID: issueID, SubscriberID: id, State: digest.StateSending,
				Attempts: attempts, NextAttemptAt: at, ClaimedBy: req.Worker, ClaimedUntil: until, Claim: claim})
		}
	}
	// Lapsed claims (and claims handed back): their recipients without a
	// row yet.
	for !req.SkipExpired && len(out) < req.Limit {
		c, err := scanClaim(q.row(ctx, `SELECT `+claimColumns+` FROM digest_claims
			WHERE issue_id = ? AND (claimed_until IS NULL OR claimed_until <= ?)
			ORDER BY first_id LIMIT 1`+q.d.SkipLocked, issueID, q.t(req.Now)))
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return nil, err
		}
		ids, err := s.snapshotIDs(ctx, q, issueID, c.firstPos, c.n)
		if err != nil {
			return nil, err
		}
		left, err := unrecorded(ctx, q, issueID, ids)
		if err != nil {
			return nil, err
		}
		if len(left) == 0 {
			if _, err := q.exec(ctx, `DELETE FROM digest_claims WHERE issue_id = ? AND first_id = ?`, issueID, c.firstID); err != nil {
				return nil, err
			}
			continue
		}
		if _, err := q.exec(ctx, `UPDATE digest_claims SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1
			WHERE issue_id = ? AND first_id = ?`, req.Worker, q.t(until), issueID, c.firstID); err != nil {
			return nil, err
		}
		at, err := snapshotCreated()
		if err != nil {
			return nil, err
		}
		add(c.firstID, left, c.attempts+1, at)
	}
	// Rows due: retries, and issues from before the snapshot. A retry is
	// due a minute or more after its failure, so they are looked for with
	// the lapsed leases, and when the snapshot has nothing left.
	claimRowsDue := func() error {
		if len(out) >= req.Limit {
			return nil
		}
		rows, err := claimRows(ctx, q, issueID, req, req.Limit-len(out))
		out = append(out, rows...)
		return err
	}
	if !req.SkipExpired {
		if err := claimRowsDue(); err != nil {
			return nil, err
		}
	}
	// The snapshot's next positions.
	for len(out) < req.Limit {
		k := req.Limit - len(out)
		var from, to int
		err := q.row(ctx, `UPDATE digest_snapshots SET claim_from = claimed_to,
			claimed_to = CASE WHEN claimed_to + ? < total THEN claimed_to + ? ELSE total END
			WHERE issue_id = ? AND claimed_to < total RETURNING claim_from, claimed_to, created_at`,
			k, k, issueID).Scan(&from, &to, tm{&created})
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return nil, err
		}
		ids, err := s.snapshotIDs(ctx, q, issueID, from, to-from)
		if err != nil {
			return nil, err
		}
		if _, err := q.exec(ctx, `INSERT INTO digest_claims (issue_id, first_id, last_id, first_pos, n, attempts, claimed_by, claimed_until)
			VALUES (?, ?, ?, ?, ?, 1, ?, ?)`, issueID, ids[0], ids[len(ids)-1], from, len(ids), req.Worker, q.t(until)); err != nil {
			return nil, err
		}
		add(ids[0], ids, 1, created)
	}
	if req.SkipExpired {
		if err := claimRowsDue(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// claimRows claims up to limit rows of digest_deliveries: lapsed leases
// first (unless req.SkipExpired), then pending rows after req.After in
// the claim order, each one range of the index digest_deliveries_due.
func claimRows(ctx context.Context, q db, issueID string, req digest.ClaimRequest, limit int) ([]digest.Delivery, error) {
	const claim = `UPDATE digest_deliveries
		SET state = 'sending', claimed_by = ?, claimed_until = ?, attempts = attempts + 1
		WHERE issue_id = ? AND subscriber_id IN (SELECT subscriber_id FROM digest_deliveries
			WHERE issue_id = ? AND state IN ('pending', 'sending') AND `
	until := q.t(req.Now.Add(req.Lease))
	// RETURNING gives rows in no set order: sort each claim's.
	var out []digest.Delivery
	claimed := func(rows *sql.Rows, err error) error {
		got, err := collect(scanDelivery)(rows, err)
		slices.SortFunc(got, func(a, b digest.Delivery) int {
			return cmp.Or(a.NextAttemptAt.Compare(b.NextAttemptAt), cmp.Compare(a.SubscriberID, b.SubscriberID))
		})
		out = append(out, got...)
		return err
	}
	if !req.SkipExpired {
		if err := claimed(q.query(ctx, claim+`state = 'sending' AND claimed_until <= ?
			ORDER BY next_attempt_at, subscriber_id LIMIT ?`+q.d.SkipLocked+`) RETURNING `+deliveryColumns,
			req.Worker, until, issueID, issueID, q.t(req.Now), limit)); err != nil {
			return nil, err
		}
	}
	if n := len(out); n < limit {
		if err := claimed(q.query(ctx, claim+`state = 'pending' AND next_attempt_at <= ?
			AND (next_attempt_at, subscriber_id) > (?, ?)
			ORDER BY next_attempt_at, subscriber_id LIMIT ?`+q.d.SkipLocked+`) RETURNING `+deliveryColumns,
			req.Worker, until, issueID, issueID, q.t(req.Now), q.t(req.After.NextAttemptAt), req.After.SubscriberID, limit-n)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// insertSent is the INSERT of n sent deliveries (arguments: issue id,
// now twice, then subscriber id, Message-ID and attempts for each): a row
// each. With upsert, a retry's row is made sent and a sent row is left as
// it is; without, a delivery that has a row is a duplicate key error
// (deliveries from a claim have none, unless another worker took the
// claim over meanwhile). Mail that went out is recorded even if the lease
// was lost.
func insertSent(n int, upsert bool) string {
	q := `INSERT INTO digest_deliveries (issue_id, subscriber_id, state, attempts, next_attempt_at, message_id, sent_at)
		SELECT ?, v.column1, 'sent', v.column3, ?, v.column2, ?
		FROM (VALUES ` + strings.TrimSuffix(strings.Repeat(`(CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS INTEGER)), `, n), ", ") + `) v
		JOIN subscribers s ON s.id = v.column1 WHERE true`
	if upsert {
		q += ` ON CONFLICT (issue_id, subscriber_id) DO UPDATE SET state = 'sent', message_id = excluded.message_id,
			sent_at = excluded.sent_at, last_error = '', claimed_by = '', claimed_until = NULL
		WHERE digest_deliveries.state <> 'sent'`
	}
	return q
}

// endClaims deletes n of worker's claims, each every outcome of which
// is recorded (arguments: issue id, worker, the claims' first ids).
func endClaims(n int) string {
	return `DELETE FROM digest_claims WHERE issue_id = ? AND claimed_by = ? AND first_id IN (` +
		strings.TrimSuffix(strings.Repeat(`?, `, n), ", ") + `)`
}

// outcomeGroup is a group of outcomes as CompleteDeliveries writes it.
type outcomeGroup struct {
	issueID, worker string
	done            []digest.Completion
	now             time.Time
	sentArgs        []any // subscriber id, Message-ID, attempts of each sent one
	ends            []any // first ids of the claims the group ends
	at              map[int64]int
	// fresh: every sent one is from a claim, and is inserted without an
	// upsert (cheaper: no speculative insertion), falling back to one on
	// a duplicate key.
	fresh bool
}

// CompleteDeliveries implements digest.Store: one transaction for the lot
// (group commit), one INSERT for the sent ones, the claims they end
// deleted; on PostgreSQL a group of sent ones only is one statement.
func (s *Store) CompleteDeliveries(ctx context.Context, issueID, worker string, done []digest.Completion, now time.Time) ([]bool, error) {
	if len(done) == 0 {
		return []bool{}, nil
	}
	g := outcomeGroup{issueID: issueID, worker: worker, done: done, now: now, at: map[int64]int{}, fresh: true}
	for i, c := range done {
		if c.Outcome.State == digest.StateSent {
			g.sentArgs = append(g.sentArgs, c.SubscriberID, c.Outcome.MessageID, max(c.Attempts, 1))
			g.at[c.SubscriberID] = i
			g.fresh = g.fresh && c.Claim != 0
		}
		if c.EndsClaim && c.Claim != 0 && !slices.Contains(g.ends, any(c.Claim)) {
			g.ends = append(g.ends, c.Claim)
		}
	}
	ok, err := s.completeGroup(ctx, g)
	if err != nil && g.fresh && s.d.Duplicate != nil && s.d.Duplicate(err) {
		g.fresh = false
		ok, err = s.completeGroup(ctx, g)
	}
	if err != nil {
		return nil, fmt.Errorf("record %d deliveries of %s: %w", len(done), issueID, err)
	}
	return ok, nil
}

func (s *Store) completeGroup(ctx context.Context, g outcomeGroup) ([]bool, error) {
	ok := make([]bool, len(g.done))
	nSent := len(g.sentArgs) / 3
	upsert := !g.fresh || s.d.Duplicate == nil
	q0 := db{s.w, s.d}
	head := []any{g.issueID, q0.t(g.now), q0.t(g.now)}
	markSent := func(rows *sql.Rows, err error) error {
		got, err := collect(func(r *sql.Rows) (int64, error) {
			var id int64
			return id, r.Scan(&id)
		})(rows, err)
		for _, id := range got {
			ok[g.at[id]] = true
		}
		return err
	}
	if s.d.Name == "postgres" && nSent == len(g.done) {
		// The common group: one statement, committed on its own and
		// asynchronously (its first CTE sets synchronous_commit off for
		// this transaction, as outcomeTx does): a lost outcome means a
		// resend after the lease, never a lost message.
		args := slices.Concat(head, g.sentArgs)
		end := ""
		if len(g.ends) > 0 {
			end = `, ended AS (` + endClaims(len(g.ends)) + `)`
			args = slices.Concat(args, []any{g.issueID, g.worker}, g.ends)
		}
		err := markSent(q0.query(ctx, `WITH async AS (SELECT set_config('synchronous_commit', 'off', true) AS v),
			ins AS (`+strings.Replace(insertSent(nSent, upsert), "WHERE true", "WHERE (SELECT v FROM async) = 'off'", 1)+`
				RETURNING subscriber_id)`+end+`
			SELECT subscriber_id FROM ins`, args...))
		return ok, err
	}
	// Prepared once for each group size (SQLite would parse them at
	// every group), before the transaction: SQLite's write pool has one
	// connection, which the transaction holds.
	var sentSt, endSt *sql.Stmt
	var err error
	if nSent > 0 {
		sentSt, err = s.prepared(ctx, s.w, insertSent(nSent, upsert)+` RETURNING subscriber_id`)
	}
	if err == nil && len(g.ends) > 0 {
		endSt, err = s.prepared(ctx, s.w, endClaims(len(g.ends)))
	}
	if err != nil {
		return nil, err
	}
	err = s.outcomeTx(ctx, func(q db) error {
		clear(ok)
		tx := q.c.(*sql.Tx)
		if nSent > 0 {
			if err := markSent(tx.StmtContext(ctx, sentSt).QueryContext(ctx, slices.Concat(head, g.sentArgs)...)); err != nil {
				return err
			}
		}
		for i, c := range g.done {
			if c.Outcome.State == digest.StateSent {
				continue
			}
			var err error
			if ok[i], err = s.recordException(ctx, q, g.issueID, g.worker, c, g.now); err != nil {
				return err
			}
			if ok[i] && c.Outcome.Bounced {
				if _, err := q.exec(ctx, `UPDATE subscribers SET status = 'bounced', bounce_count = bounce_count + 1,
					bounced_at = ? WHERE id = ?`, q.t(g.now), c.SubscriberID); err != nil {
					return err
				}
			}
		}
		if endSt == nil {
			return nil
		}
		_, err := tx.StmtContext(ctx, endSt).ExecContext(ctx, slices.Concat([]any{g.issueID, g.worker}, g.ends)...)
		return err
	})
	return ok, err
}

// recordException records an outcome other than sent (a retry, failed,
// skipped) of a delivery worker holds: its row's when it has one (a
// retry, or an issue from before the snapshot), else a new row under
// worker's claim. It reports false when the delivery is not worker's.
func (s *Store) recordException(ctx context.Context, q db, issueID, worker string, c digest.Completion, now time.Time) (bool, error) {
	o := c.Outcome
	next := q.t(orNow(o.NextAttemptAt, now))
	n, err := q.execN(ctx, `UPDATE digest_deliveries SET state = ?, last_error = ?, next_attempt_at = ?,
		claimed_by = '', claimed_until = NULL
		WHERE issue_id = ? AND subscriber_id = ? AND state = 'sending' AND claimed_by = ?`,
		string(o.State), o.Error, next, issueID, c.SubscriberID, worker)
	if err != nil || n > 0 {
		return n > 0, err
	}
	const held = `FROM digest_claims c WHERE c.issue_id = ? AND c.claimed_by = ? AND c.first_id <= ? AND c.last_id >= ?`
	n, err = q.execN(ctx, `INSERT INTO digest_deliveries (issue_id, subscriber_id, state, attempts, next_attempt_at, last_error)
		SELECT c.issue_id, CAST(? AS BIGINT), ?, c.attempts, ?, ? `+held+` AND EXISTS (SELECT 1 FROM subscribers s WHERE s.id = ?)
		ON CONFLICT (issue_id, subscriber_id) DO NOTHING`,
		c.SubscriberID, string(o.State), next, o.Error, issueID, worker, c.SubscriberID, c.SubscriberID, c.SubscriberID)
	if err != nil || n > 0 {
		return n > 0, err
	}
	// Worker's claim, but the subscriber was erased: nothing to record.
	var erased int
	err = q.row(ctx, `SELECT CASE WHEN EXISTS (SELECT 1 `+held+`)
		AND NOT EXISTS (SELECT 1 FROM subscribers WHERE id = ?) THEN 1 ELSE 0 END`,
		issueID, worker, c.SubscriberID, c.SubscriberID, c.SubscriberID).Scan(&erased)
	return erased == 1, err
}

// RenewClaims implements digest.Store: the claims and the rows worker
// holds; the count is of the deliveries they cover.
func (s *Store) RenewClaims(ctx context.Context, issueID, worker string, now time.Time, lease time.Duration) (int, error) {
	var n int64
	err := s.tx(ctx, func(q db) error {
		var err error
		if n, err = q.execN(ctx, `UPDATE digest_deliveries SET claimed_until = ?
			WHERE issue_id = ? AND state IN ('pending', 'sending') AND state = 'sending' AND claimed_by = ?`,
			q.t(now.Add(lease)), issueID, worker); err != nil {
			return err
		}
		got, err := collect(func(r *sql.Rows) (int64, error) {
			var k int64
			return k, r.Scan(&k)
		})(q.query(ctx, `UPDATE digest_claims SET claimed_until = ? WHERE issue_id = ? AND claimed_by = ? RETURNING n`,
			q.t(now.Add(lease)), issueID, worker))
		for _, k := range got {
			n += k
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("renew claims on %s: %w", issueID, err)
	}
	return int(n), nil
}

// NextLeaseEnd implements digest.Store.
func (s *Store) NextLeaseEnd(ctx context.Context, issueID, worker string) (time.Time, error) {
	var rows, claims time.Time
	q := s.read()
	err := q.row(ctx, `SELECT MIN(claimed_until) FROM digest_deliveries
		WHERE issue_id = ? AND state IN ('pending', 'sending') AND state = 'sending' AND claimed_by <> ?`, issueID, worker).Scan(tm{&rows})
	if err == nil {
		err = q.row(ctx, `SELECT MIN(claimed_until) FROM digest_claims WHERE issue_id = ? AND claimed_by <> ?`,
			issueID, worker).Scan(tm{&claims})
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("next lease end on %s: %w", issueID, err)
	}
	if rows.IsZero() || (!claims.IsZero() && claims.Before(rows)) {
		return claims, nil
	}
	return rows, nil
}

// ReleaseDeliveries implements digest.Store: worker's rows are pending
// again, and its claims handed back (or deleted when nothing is left to
// send); it counts the deliveries handed back.
func (s *Store) ReleaseDeliveries(ctx context.Context, issueID, worker string, now time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(q db) error {
		var err error
		if n, err = q.execN(ctx, `UPDATE digest_deliveries SET state = 'pending', claimed_by = '', claimed_until = NULL,
			attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,
			next_attempt_at = CASE WHEN next_attempt_at < ? THEN next_attempt_at ELSE ? END
			WHERE issue_id = ? AND state IN ('pending', 'sending') AND state = 'sending' AND claimed_by = ?`,
			q.t(now), q.t(now), issueID, worker); err != nil {
			return err
		}
		claims, err := collect(func(r *sql.Rows) (claimRow, error) { return scanClaim(r) })(q.query(ctx,
			`SELECT `+claimColumns+` FROM digest_claims WHERE issue_id = ? AND claimed_by = ?`, issueID, worker))
		if err != nil {
			return err
		}
		for _, c := range claims {
			left, err := s.claimLeft(ctx, q, issueID, c)
			if err != nil {
				return err
			}
			n += int64(len(left))
			if len(left) > 0 {
				_, err = q.exec(ctx, `UPDATE digest_claims SET claimed_by = '', claimed_until = NULL,
					attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE issue_id = ? AND first_id = ?`,
					issueID, c.firstID)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("release deliveries of %s: %w", issueID, err)
	}
	return int(n), nil
}

// claimLeft returns the recipients of c that still have to be sent, and
// deletes c when there is none.
func (s *Store) claimLeft(ctx context.Context, q db, issueID string, c claimRow) ([]int64, error) {
	ids, err := s.snapshotIDs(ctx, q, issueID, c.firstPos, c.n)
	if err != nil {
		return nil, err
	}
	left, err := unrecorded(ctx, q, issueID, ids)
	if err == nil && len(left) == 0 {
		_, err = q.exec(ctx, `DELETE FROM digest_claims WHERE issue_id = ? AND first_id = ?`, issueID, c.firstID)
	}
	return left, err
}

// FinishIssue implements digest.Store: the issue is sent once its whole
// snapshot has been claimed, no claim has a recipient left to send (those
// that have none are deleted on the way), and no row is pending or
// sending.
func (s *Store) FinishIssue(ctx context.Context, issueID string, now time.Time) (bool, error) {
	var sent bool
	err := s.tx(ctx, func(q db) error {
		var total, claimedTo int
		err := q.row(ctx, `SELECT total, claimed_to FROM digest_snapshots WHERE issue_id = ?`, issueID).Scan(&total, &claimedTo)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		open := claimedTo < total
		claims, err := collect(func(r *sql.Rows) (claimRow, error) { return scanClaim(r) })(q.query(ctx,
			`SELECT `+claimColumns+` FROM digest_claims WHERE issue_id = ? ORDER BY first_id`, issueID))
		if err != nil {
			return err
		}
		for _, c := range claims {
			left, err := s.claimLeft(ctx, q, issueID, c)
			if err != nil {
				return err
			}
			open = open || len(left) > 0
		}
		if !open {
			if _, err := q.exec(ctx, `UPDATE digest_issues SET status = 'sent', finished_at = ?
				WHERE id = ? AND status <> 'sent' AND NOT EXISTS (SELECT 1 FROM digest_deliveries
					WHERE issue_id = ? AND state IN ('pending', 'sending'))`, q.t(now), issueID, issueID); err != nil {
				return err
			}
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

// unsent calls fn for each recipient of the issue's snapshot that has no
// row yet and still exists: pending when never claimed or handed back,
// sending when a claim holds it (its lease running or lapsed). Chunk by
// chunk: its memory does not grow with the snapshot.
func (s *Store) unsent(ctx context.Context, q db, issueID string, fn func(d digest.Delivery)) error {
	var (
		total, claimedTo int
		created          time.Time
	)
	err := q.row(ctx, `SELECT total, claimed_to, created_at FROM digest_snapshots WHERE issue_id = ?`, issueID).
		Scan(&total, &claimedTo, tm{&created})
	if errors.Is(err, sql.ErrNoRows) {
		return nil // an issue from before the snapshot: rows only
	}
	if err != nil {
		return err
	}
	claims, err := collect(func(r *sql.Rows) (claimRow, error) { return scanClaim(r) })(q.query(ctx,
		`SELECT `+claimColumns+` FROM digest_claims WHERE issue_id = ? ORDER BY first_id`, issueID))
	if err != nil {
		return err
	}
	emit := func(from, n int, d digest.Delivery) error {
		ids, err := s.snapshotIDs(ctx, q, issueID, from, n)
		if err != nil {
			return err
		}
		left, err := unrecorded(ctx, q, issueID, ids)
		for _, id := range left {
			d.SubscriberID = id
			fn(d)
		}
		return err
	}
	for _, c := range claims {
		d := digest.Delivery{IssueID: issueID, State: digest.StateSending, Attempts: c.attempts, NextAttemptAt: created,
			ClaimedBy: c.claimedBy, ClaimedUntil: c.claimedUntil}
		if c.claimedBy == "" {
			d.State = digest.StatePending
		}
		if err := emit(c.firstPos, c.n, d); err != nil {
			return err
		}
	}
	for pos := claimedTo; pos < total; {
		n := min(chunkSize-pos%chunkSize, total-pos)
		if err := emit(pos, n, digest.Delivery{IssueID: issueID, State: digest.StatePending, NextAttemptAt: created}); err != nil {
			return err
		}
		pos += n
	}
	return nil
}

// DeliveryCounts implements digest.Store: the rows counted by state, and
// the snapshot's recipients without one.
func (s *Store) DeliveryCounts(ctx context.Context, issueID string) (map[digest.State]int, error) {
	q := s.read()
	out, err := countBy[digest.State](q.query(ctx, `SELECT state, COUNT(*) FROM digest_deliveries WHERE issue_id = ? GROUP BY state`, issueID))
	if err == nil {
		err = s.unsent(ctx, q, issueID, func(d digest.Delivery) { out[d.State]++ })
	}
	if err != nil {
		return nil, fmt.Errorf("count deliveries of %s: %w", issueID, err)
	}
	return out, nil
}

// ListDeliveries implements digest.Store: the rows, and the snapshot's
// recipients without one.
func (s *Store) ListDeliveries(ctx context.Context, issueID string) ([]digest.Delivery, error) {
	q := s.read()
	out, err := collect(scanDelivery)(q.query(ctx,
		`SELECT `+deliveryColumns+` FROM digest_deliveries WHERE issue_id = ? ORDER BY subscriber_id`, issueID))
	if err == nil {
		err = s.unsent(ctx, q, issueID, func(d digest.Delivery) { out = append(out, d) })
	}
	if err != nil {
		return nil, fmt.Errorf("list deliveries of %s: %w", issueID, err)
	}
	slices.SortFunc(out, func(a, b digest.Delivery) int { return cmp.Compare(a.SubscriberID, b.SubscriberID) })
	return out, nil
}

// openCopy is an issue still being sent whose snapshot holds a
// subscriber who has no row for it yet.
type openCopy struct {
	issueID, series string
	createdAt       time.Time
	state           digest.State // pending, or sending under a claim
}

// openCopies finds the subscriber's open copies: the chunk of each open
// issue's snapshot whose ids span the subscriber's, searched here.
func openCopies(ctx context.Context, q db, subscriberID int64) ([]openCopy, error) {
	type found struct {
		c   openCopy
		ids string
	}
	rows, err := collect(func(r *sql.Rows) (found, error) {
		var f found
		err := r.Scan(&f.c.issueID, &f.c.series, tm{&f.c.createdAt}, &f.ids, &f.c.state)
		return f, err
	})(q.query(ctx, `SELECT i.id, i.series, i.created_at, r.ids,
			CASE WHEN EXISTS (SELECT 1 FROM digest_claims c WHERE c.issue_id = i.id AND c.first_id <= ? AND c.last_id >= ?
				AND c.claimed_by <> '') THEN 'sending' ELSE 'pending' END
		FROM digest_issues i JOIN digest_recipients r ON r.issue_id = i.id AND r.first_id <= ? AND r.last_id >= ?
		WHERE i.status = 'sending' AND NOT EXISTS (SELECT 1 FROM digest_deliveries d
			WHERE d.issue_id = i.id AND d.subscriber_id = ?) AND EXISTS (SELECT 1 FROM subscribers WHERE id = ?)`,
		subscriberID, subscriberID, subscriberID, subscriberID, subscriberID, subscriberID))
	if err != nil {
		return nil, err
	}
	var out []openCopy
	for _, f := range rows {
		ids, err := decodeIDs(f.ids)
		if err != nil {
			return nil, err
		}
		if _, ok := slices.BinarySearch(ids, subscriberID); ok {
			out = append(out, f.c)
		}
	}
	return out, nil
}
