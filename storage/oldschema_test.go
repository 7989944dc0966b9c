package storage_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/syndicated/syndicated/storage/postgres"
	"github.com/syndicated/syndicated/storage/sqlite"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// oldSchema is a database of backend name migrated only up to version,
// for a test that writes rows as an older release did and then opens it
// with storage.Open: URL is what storage.Open takes, DB a pool of the
// test's own, Time a time as the backend's columns hold it.
type oldSchema struct {
	URL  string
	DB   *sql.DB
	Time func(time.Time) any
}

func openOldSchema(t *testing.T, name string, version int) oldSchema {
	t.Helper()
	ctx := context.Background()
	var (
		o     oldSchema
		u     string
		closeStore func()
	)
	switch name {
	case "sqlite":
		u = filepath.Join(t.TempDir(), "old.db")
		s, err := sqlite.OpenAt(ctx, u, version)
		if err != nil {
			t.Fatal(err)
		}
		closeStore, o.URL, o.Time = func() { s.Close() }, "sqlite://"+u, func(t time.Time) any { return t.UnixMicro() }
	case "postgres":
		u = storagetest.PostgresURL(t)
		s, err := postgres.OpenAt(ctx, u, version)
		if err != nil {
			t.Fatal(err)
		}
		closeStore, o.URL, o.Time = func() { s.Close() }, u, func(t time.Time) any { return t }
	default:
		t.Fatalf("no backend %q", name)
	}
	// The old release's store is closed before the test writes: what it
	// writes goes through its own pool, as an old process would have.
	closeStore()
	o.DB = storagetest.OpenDB(t, o.URL)
	return o
}
