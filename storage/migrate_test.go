package storage_test

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// TestOpenRefusesNewerSchema records a migration version beyond what this
// build knows, as a newer syndicated would, and checks that Open refuses
// the database with an error naming both versions, on each backend; and
// that a database at the current version reopens without re-running any
// migration.
func TestOpenRefusesNewerSchema(t *testing.T) {
	urls := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "newer.db") },
		"postgres": func(t *testing.T) string { return storagetest.PostgresURL(t) },
	}
	for _, name := range storagetest.Names {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			u := urls[name](t)
			s, err := storage.Open(ctx, u, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			db := storagetest.OpenDB(t, u)
			var before int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&before); err != nil {
				t.Fatal(err)
			}
			s.Close()

			// Reopening at the current version applies nothing.
			s, err = storage.Open(ctx, u, t.TempDir())
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			db = storagetest.OpenDB(t, u)
			var after, known int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&after, &known); err != nil {
				t.Fatal(err)
			}
			if after != before {
				t.Errorf("schema_migrations rows %d after reopening, %d before", after, before)
			}
			newer := known + 2
			if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at)
				SELECT `+itoa(newer)+`, 'from_the_future.sql', applied_at FROM schema_migrations WHERE version = 1`); err != nil {
				t.Fatal(err)
			}
			s.Close()

			_, err = storage.Open(ctx, u, t.TempDir())
			want := regexp.MustCompile(`database schema is at version ` + itoa(newer) + `, this syndicated knows up to ` +
				itoa(known) + `: upgrade syndicated`)
			if err == nil || !want.MatchString(err.Error()) {
				t.Fatalf("Open of a newer schema: err = %v, want one matching %q", err, want)
			}
		})
	}
}

func itoa(n int) string { return fmt.Sprint(n) }
