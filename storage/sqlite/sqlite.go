// Package sqlite stores articles and subscribers in one SQLite file through
// modernc.org/sqlite (pure Go, no cgo); the storage itself is sqlstore's.
//
// Writes go through a pool of exactly one connection, and every write
// transaction starts with BEGIN IMMEDIATE: concurrent writers in this process
// queue in database/sql instead of failing with SQLITE_BUSY or deadlocking on
// a read-to-write lock upgrade, and another process is held off by
// busy_timeout. Reads use a separate pool, which WAL lets run beside the
// writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite" // registers driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/syndicated/syndicated/storage/internal/sqlq"
	"github.com/syndicated/syndicated/storage/sqlstore"
)

// dialect is SQLite's: times as unix microseconds, no row locks (a write
// transaction holds the whole file).
var dialect = &sqlstore.Dialect{
	Name:  "sqlite",
	Query: sqlq.Dialect{Time: func(t time.Time) any { return t.UnixMicro() }},
	MigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
	Batch: 500,
	Duplicate: func(err error) bool {
		var se *sqlite.Error
		return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE)
	},
	Types: map[string]string{"TIME": "INTEGER", "JSON": "TEXT", "BOOL": "INTEGER", "BIGINT": "INTEGER",
		"ID": "INTEGER PRIMARY KEY AUTOINCREMENT"},
}

// Store is the SQLite backend. Its zero value is not usable; call Open.
type Store struct {
	*sqlstore.Store
	path string

	mu    sync.Mutex
	locks map[string]bool // TryLock names held in this process
}

// busyTimeout is how long a connection waits for another process's lock
// before SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// dsn is the driver's data source name for the file at path, for the write
// pool or (write false) a read-only one.
func dsn(path string, write bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if write {
		// Take the write lock at BEGIN so a transaction never fails half way
		// when it first writes.
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the database file at path and applies any
// pending migrations. The directory must exist.
func Open(ctx context.Context, path string) (*Store, error) {
	return OpenAt(ctx, path, 0)
}

// OpenAt is Open migrating only up to schema version (0: every version),
// for tests of a migration on data written before it.
func OpenAt(ctx context.Context, path string, version int) (*Store, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open sqlite %q: path must not contain '?' or '#'", path)
	}
	s, err := open(ctx, path, version)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return s, nil
}

func open(ctx context.Context, path string, version int) (*Store, error) {
	w, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// Migrate before opening readers, so WAL mode is set by the one writer.
	if err := sqlstore.New(dialect, w, w).MigrateTo(ctx, version); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		w.Close()
		return nil, err
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s := &Store{Store: sqlstore.New(dialect, r, w), path: path, locks: map[string]bool{}}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Path returns the database file path.
func (s *Store) Path() string { return s.path }

// TryLock takes name if no one in this process holds it. SQLite serves one
// process, so a map in the Store is enough; it does not guard against a
// second process opening the same file.
func (s *Store) TryLock(ctx context.Context, name string) (func(), bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locks[name] {
		return func() {}, false, nil
	}
	s.locks[name] = true
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.locks, name)
			s.mu.Unlock()
		})
	}, true, nil
}
