// Package sqlite stores articles and subscribers in one SQLite file through
// modernc.org/sqlite (pure Go, no cgo).
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
	"embed"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers driver "sqlite"

	"github.com/syndicated/syndicated/storage/internal/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite backend. Its zero value is not usable; call Open.
type Store struct {
	path string
	w    *sql.DB // one connection: all writes
	r    *sql.DB // readers

	mu    sync.Mutex
	locks map[string]bool // TryLock names held in this process
}

// busyTimeout is how long a connection waits for another process's lock
// before SQLITE_BUSY.
const busyTimeout = 10 * time.Second

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
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open sqlite %q: path must not contain '?' or '#'", path)
	}
	w, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{path: path, w: w, locks: map[string]bool{}}
	// Migrate before opening readers, so WAL mode is set by the one writer.
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.r = r
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return s, nil
}

// Path returns the database file path.
func (s *Store) Path() string { return s.path }

// Ping checks both pools can reach the file.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	return nil
}

// Close closes both pools.
func (s *Store) Close() error {
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	return errors.Join(errs...)
}

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

// migrate applies every embedded migration not yet in schema_migrations, in
// one IMMEDIATE transaction so two processes cannot both apply one.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrate.Load(migrations, "migrations")
	if err != nil {
		return err
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		applied := map[int]bool{}
		rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return fmt.Errorf("migrate: %w", err)
			}
			applied[v] = true
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		for _, m := range ms {
			if applied[m.Version] {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, time.Now().UnixMicro()); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		return nil
	})
}

// writeTx runs fn in a write transaction on the single write connection and
// commits when fn returns nil.
func (s *Store) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// micro stores a time as UTC unix microseconds.
func micro(t time.Time) int64 { return t.UnixMicro() }

// microOrNull stores the zero time as NULL.
func microOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromMicro(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMicro(n.Int64).UTC()
}
