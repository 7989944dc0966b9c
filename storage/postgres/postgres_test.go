package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syndicated/syndicated/storage/postgres"

	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/conformance"
	"github.com/syndicated/syndicated/storage/sqlstore"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// TestConformance runs against a fresh schema per subtest; it skips without
// SYNDICATED_TEST_POSTGRES_URL and fails without it under CI.
func TestConformance(t *testing.T) {
	storagetest.Postgres(t) // skip or fail once, up front
	conformance.RunTests(t, func(t *testing.T) storage.Storage { return storagetest.Postgres(t) })
}

// TestConcurrentOpenMigratesOnce starts several "replicas" on one empty
// schema at once: the advisory lock makes them take turns, none fails.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	storagetest.Postgres(t) // skip or fail as the suite does
	base := os.Getenv(storagetest.PostgresURLEnv)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	schema := fmt.Sprintf("syndicated_test_open_%d", time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	defer admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			s, err := postgres.Open(ctx, u.String())
			if err != nil {
				errs <- err
				return
			}
			s.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ms, err := sqlstore.Migrations(postgres.Dialect())
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM "+schema+".schema_migrations").Scan(&n); err != nil || n != len(ms) {
		t.Errorf("schema_migrations rows = %d, %v; want %d (one per migration)", n, err, len(ms))
	}
}

// TestLocksAreSchemaScoped: two deployments in two schemas of one database
// (staging beside production, or two test runs) each run their own
// scheduled jobs; a job lock held in one schema does not stop the other's.
func TestLocksAreSchemaScoped(t *testing.T) {
	a, b := storagetest.Postgres(t), storagetest.Postgres(t)
	ctx := context.Background()
	release, ok, err := a.TryLock(ctx, "digest:shanghai-70th")
	if err != nil || !ok {
		t.Fatalf("TryLock in the first schema: %v, %v", ok, err)
	}
	defer release()
	if _, again, err := a.TryLock(ctx, "digest:shanghai-70th"); err != nil || again {
		t.Fatalf("second TryLock in the same schema: ok=%v err=%v, want refused", again, err)
	}
	other, ok, err := b.TryLock(ctx, "digest:shanghai-70th")
	if err != nil || !ok {
		t.Fatalf("TryLock of the same name in another schema: ok=%v err=%v, want granted", ok, err)
	}
	other()
}
