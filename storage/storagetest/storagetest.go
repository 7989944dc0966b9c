// Package storagetest gives tests of any package a fresh, empty store of
// each backend:
//
//	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) { … })
//
// SQLite always runs, in t.TempDir(). PostgreSQL runs when
// SYNDICATED_TEST_POSTGRES_URL is set (for example
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable), each store in a
// schema of its own that is dropped at cleanup, so parallel runs never
// collide. With CI set, a missing or unreachable PostgreSQL fails the test
// instead of skipping it.
package storagetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/syndicated/syndicated/internal/testkit"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/postgres"
	"github.com/syndicated/syndicated/storage/sqlite"
	"github.com/syndicated/syndicated/subscribers"
)

// PostgresURLEnv names the variable holding the test database URL.
const PostgresURLEnv = "SYNDICATED_TEST_POSTGRES_URL"

// Names lists the backends in the order ForEach runs them.
var Names = []string{"sqlite", "postgres"}

// Backends returns a constructor of a fresh store per backend name. The
// postgres constructor skips (or fails under CI) when PostgreSQL is not
// configured, so callers need not check.
func Backends(tb testing.TB) map[string]func(tb testing.TB) storage.Storage {
	tb.Helper()
	return map[string]func(testing.TB) storage.Storage{
		"sqlite":   SQLite,
		"postgres": Postgres,
	}
}

// ForEach runs fn as a subtest per backend, each with a fresh store.
func ForEach(t *testing.T, fn func(t *testing.T, s storage.Storage)) {
	t.Helper()
	open := Backends(t)
	for _, name := range Names {
		t.Run(name, func(t *testing.T) { fn(t, open[name](t)) })
	}
}

// ForEachB is ForEach for benchmarks. The store is opened before fn, so
// fn should reset the timer after seeding.
func ForEachB(b *testing.B, fn func(b *testing.B, s storage.Storage)) {
	b.Helper()
	open := Backends(b)
	for _, name := range Names {
		b.Run(name, func(b *testing.B) { fn(b, open[name](b)) })
	}
}

// SQLite opens a fresh SQLite store in a temporary directory, closed at
// cleanup.
func SQLite(tb testing.TB) storage.Storage {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "syndicated.db"))
	if err != nil {
		tb.Fatalf("storagetest: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// Postgres opens a store in a new schema of the database named by
// SYNDICATED_TEST_POSTGRES_URL; the schema is dropped at cleanup. It skips
// when the variable is unset, except under CI, where it fails, as it does
// whenever the database cannot be reached.
func Postgres(tb testing.TB) storage.Storage {
	tb.Helper()
	conn := PostgresURL(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, conn)
	if err != nil {
		tb.Fatalf("storagetest: %v", err)
	}
	tb.Cleanup(func() { s.Close() }) // runs before the schema is dropped
	return &pgStore{Store: s, conn: conn}
}

// pgStore is a PostgreSQL store with the connection string it was opened
// with (its schema in search_path), for DB.
type pgStore struct {
	*postgres.Store
	conn string
}

// DB opens a database/sql pool of its own on the database of s, a store
// that SQLite or Postgres opened (or any SQLite store: one with Path),
// for tests that seed in bulk or read rows no method of the store
// returns. It is closed at cleanup.
func DB(tb testing.TB, s storage.Storage) *sql.DB {
	tb.Helper()
	switch s := s.(type) {
	case *pgStore:
		return OpenDB(tb, s.conn)
	case interface{ Path() string }:
		return OpenDB(tb, "sqlite:"+s.Path())
	}
	tb.Fatalf("storagetest: DB of a %T, which storagetest did not open", s)
	return nil
}

// Confirmations is the confirmation outbox's rows in state (every row
// when empty), by id, each read as the store reads one (GetConfirmation).
func Confirmations(tb testing.TB, s storage.Storage, state subscribers.ConfirmationState) []subscribers.Confirmation {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db := DB(tb, s)
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT id FROM confirmation_outbox WHERE $1 = '' OR state = $2 ORDER BY id`, string(state), string(state))
	if err != nil {
		tb.Fatalf("storagetest: confirmations: %v", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			tb.Fatalf("storagetest: confirmations: %v", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("storagetest: confirmations: %v", err)
	}
	out := make([]subscribers.Confirmation, 0, len(ids))
	for _, id := range ids {
		c, err := s.GetConfirmation(ctx, id)
		if err != nil {
			tb.Fatalf("storagetest: %v", err)
		}
		out = append(out, c)
	}
	return out
}

// OpenDB opens a database/sql pool of its own on the database dbURL names:
// postgres://… (a pgx connection string, search_path included) or
// sqlite:PATH (an existing file; a bare path is taken as one too). It is
// closed at cleanup, before the cleanups registered earlier (the drop of
// PostgresURL's schema).
func OpenDB(tb testing.TB, dbURL string) *sql.DB {
	tb.Helper()
	var db *sql.DB
	if strings.HasPrefix(dbURL, "postgres://") || strings.HasPrefix(dbURL, "postgresql://") {
		cfg, err := pgx.ParseConfig(dbURL)
		if err != nil {
			tb.Fatalf("storagetest: %v", err)
		}
		db = stdlib.OpenDB(*cfg)
	} else {
		path := strings.TrimPrefix(strings.TrimPrefix(dbURL, "sqlite://"), "sqlite:")
		var err error
		if db, err = storage.OpenSQLiteFile(path); err != nil {
			tb.Fatalf("storagetest: %v", err)
		}
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// PostgresURL creates a new, empty schema in the database named by
// SYNDICATED_TEST_POSTGRES_URL and returns a connection string whose
// search_path is that schema, for tests that open the store themselves
// (several daemons sharing one database, say). The schema is dropped at
// cleanup, so anything using it must be closed by cleanups registered
// after this call. It skips or fails like Postgres.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(PostgresURLEnv)
	if base == "" {
		testkit.Missing(tb, "storagetest: set %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run against PostgreSQL", PostgresURLEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("storagetest: PostgreSQL at %s unreachable: %v", storage.Redact(base), err)
	}
	defer admin.Close(context.Background())
	schema := "syndicated_test_" + randomHex(8)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("storagetest: create schema: %v", err)
	}
	tb.Cleanup(func() { dropSchema(tb, base, schema) })
	return withSearchPath(base, schema)
}

func dropSchema(tb testing.TB, base, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Errorf("storagetest: drop schema %s: %v", schema, err)
		return
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
		tb.Errorf("storagetest: drop schema %s: %v", schema, err)
	}
}

// withSearchPath adds search_path to a URL or key=value connection string;
// pgx sends parameters it does not know to the server as run-time settings.
func withSearchPath(conn, schema string) string {
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		if u, err := url.Parse(conn); err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return conn + " search_path=" + schema
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
