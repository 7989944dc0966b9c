// Package sqlstore is the storage of both SQL backends, written once on
// database/sql: the rules (merging articles, GUID uniqueness, deduplicating
// imports), the transactions and the queries. A backend supplies a Dialect
// (placeholders, time representation, row locking, migration lock) and the
// pools; what it adds on top is opening the database and TryLock.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/syndicated/syndicated/storage/internal/sqlq"
)

// Dialect is what differs between the backends.
type Dialect struct {
	// Name selects dialect-only lines in migrations ("--sqlite …").
	Name string
	// Query builds the feed and subscriber SELECTs; its Time converts a
	// time to the column's representation.
	Query sqlq.Dialect
	// Numbered placeholders ($1, $2…) instead of "?".
	Numbered bool
	// ForUpdate locks rows read in a write transaction (" FOR UPDATE"), and
	// SkipLocked is appended to the claim's subquery; both are "" where a
	// write transaction already excludes every other writer.
	ForUpdate, SkipLocked string
	// LockKey, when set, runs in UpdateSubscriber's transaction before the
	// read with the address as its one argument, so that callers take
	// turns even when the row does not exist yet.
	LockKey string
	// Duplicate reports whether err is a unique constraint's violation.
	// Where it is set, outcomes of deliveries that cannot have a row yet
	// are inserted without an upsert, and again with one on a duplicate.
	Duplicate func(err error) bool
	// MigrateLock runs first in the migration transaction, when set.
	MigrateLock string
	// MigrationsTable creates schema_migrations if needed.
	MigrationsTable string
	// Batch is rows per multi-row INSERT and ids per IN list: with 12
	// columns a row it must keep within the bound variables a statement
	// may have (32766 on SQLite, 65535 on PostgreSQL).
	Batch int
	// Unnest passes bulk inserts as one array per column (see db.rows).
	Unnest bool
	// Types replaces {{NAME}} in migrations.
	Types map[string]string
	// AfterBulkArticles and AfterBulkSubscribers run, when set, outside the
	// transaction after a bulk write of at least bulkRows rows;
	// AfterBulkArticles only once the articles written in bulk since it
	// last ran reach a quarter of the table (see bulkMaintenance).
	AfterBulkArticles, AfterBulkSubscribers string
}

// bulkRows is the batch size from which PutArticles and InsertSubscribers
// run the dialect's statistics refresh.
const bulkRows = 1000

// bulkMaintenance spaces out a maintenance statement whose cost grows with
// the table (VACUUM reads every page not yet all-visible): it is due after
// a bulk write when the rows written in bulk since it last ran are at
// least a quarter of the rows the table had then. Seeding a million
// articles in batches of 2,000 so runs it some thirty times rather than
// 500, each on a table at most a quarter bigger than its statistics say,
// and the total work stays linear in the rows written instead of
// quadratic. Autovacuum keeps up with smaller writes.
type bulkMaintenance struct {
	mu      sync.Mutex
	pending int64 // rows written in bulk since the last run
	base    int64 // the table's rows at the last run; 0 before one
	running bool  // one writer runs it at a time; others leave it to that one
}

// add counts n rows written in bulk and reports whether the maintenance is
// due; the caller then runs it and calls done.
func (m *bulkMaintenance) add(n int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending += int64(n)
	if m.running || (m.base > 0 && m.pending*4 < m.base) {
		return false
	}
	m.running, m.pending = true, 0
	return true
}

// done records a run that left the table with rows rows (-1 when the run
// failed: it is due again after the next bulk write).
func (m *bulkMaintenance) done(rows int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.running = false
	if rows < 0 {
		m.base = 0
		return
	}
	m.base = max(rows, 1)
}

// Store implements the article, subscriber and digest stores, PutArticles
// and Secret. Reads go to r, write transactions to w (the same pool where
// the backend has one).
type Store struct {
	d    *Dialect
	r, w *sql.DB
	// stmts holds statements prepared once on a pool (stmtKey → *sql.Stmt)
	// for the digest's hot queries; SQLite would parse them every time.
	stmts sync.Map
	// articleMaint spaces out the dialect's AfterBulkArticles.
	articleMaint bulkMaintenance
	// chunks holds chunks of digest snapshots, which never change.
	chunks chunkCache
}

// New returns a Store on the given pools; call Migrate before use.
func New(d *Dialect, r, w *sql.DB) *Store { return &Store{d: d, r: r, w: w} }

// Ping checks both pools can reach the database.
func (s *Store) Ping(ctx context.Context) error {
	for _, db := range []*sql.DB{s.w, s.r} {
		if err := db.PingContext(ctx); err != nil {
			return fmt.Errorf("ping %s: %w", s.d.Name, err)
		}
	}
	return nil
}

// Close closes both pools.
func (s *Store) Close() error {
	s.stmts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
	if s.r == s.w {
		return s.w.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// conn is what a pool and a transaction share.
type conn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// db runs queries written with "?" placeholders in the dialect's syntax.
type db struct {
	c conn
	d *Dialect
}

func (s *Store) read() db         { return db{s.r, s.d} }
func (s *Store) on(tx *sql.Tx) db { return db{tx, s.d} }

// bind numbers the "?" placeholders of query where the dialect wants $1, $2…
// (no query here has a "?" inside a string literal).
func (q db) bind(query string) string {
	if !q.d.Numbered {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

func (q db) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return q.c.ExecContext(ctx, q.bind(query), args...)
}

func (q db) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.c.QueryContext(ctx, q.bind(query), args...)
}

func (q db) row(ctx context.Context, query string, args ...any) *sql.Row {
	return q.c.QueryRowContext(ctx, q.bind(query), args...)
}

// execN runs query and returns the number of rows it changed.
func (q db) execN(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := q.exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// tx runs fn in a write transaction and commits when fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(q db) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(s.on(tx)); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// t converts a time for a column; the zero time is stored as it is (only
// the nullable columns use n).
func (q db) t(t time.Time) any { return q.d.Query.Time(t) }

// n converts a time for a nullable column: the zero time is NULL.
func (q db) n(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return q.d.Query.Time(t)
}

// tm scans a time column of either representation (unix microseconds or a
// timestamp) into *p, in UTC; NULL is the zero time.
type tm struct{ p *time.Time }

func (s tm) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*s.p = time.Time{}
	case int64:
		*s.p = time.UnixMicro(v).UTC()
	case time.Time:
		*s.p = v.UTC()
	default:
		return fmt.Errorf("time column holds %T", v)
	}
	return nil
}

// collect returns a function that, given a query's rows and error, scans
// every row with scan and closes rows:
//
//	out, err := collect(scanDelivery)(q.query(ctx, …))
func collect[T any](scan func(*sql.Rows) (T, error)) func(*sql.Rows, error) ([]T, error) {
	return func(rows *sql.Rows, err error) ([]T, error) {
		if err != nil {
			return nil, err
		}
		return collectRows(rows, scan)
	}
}

func collectRows[T any](rows *sql.Rows, scan func(*sql.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// count runs a COUNT(*) query built by sqlq (placeholders already in the
// dialect's syntax) on the read pool.
func (s *Store) count(ctx context.Context, what, query string, args []any) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", what, err)
	}
	return n, nil
}

// Secret returns the value stored under name, or calls generate, stores its
// result and returns it. Processes racing on one database all end with the
// value stored first: the insert does nothing on conflict (waiting, on
// PostgreSQL, for the first to commit), and the read after it in the same
// transaction sees the stored row.
func (s *Store) Secret(ctx context.Context, name string, generate func() (string, error)) (string, error) {
	const get = `SELECT value FROM settings WHERE name = ?`
	var v string
	err := s.read().row(ctx, get, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("secret %s: %w", name, err)
	}
	gen, err := generate()
	if err != nil {
		return "", fmt.Errorf("secret %s: generate: %w", name, err)
	}
	if gen == "" {
		return "", fmt.Errorf("secret %s: generate returned an empty value", name)
	}
	err = s.tx(ctx, func(q db) error {
		if _, err := q.exec(ctx, `INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, gen); err != nil {
			return err
		}
		return q.row(ctx, get, name).Scan(&v)
	})
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", name, err)
	}
	return v, nil
}
