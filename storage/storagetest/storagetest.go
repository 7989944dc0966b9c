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
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syndicated/syndicated/internal/testkit"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/postgres"
	"github.com/syndicated/syndicated/storage/sqlite"
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
	return s
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
