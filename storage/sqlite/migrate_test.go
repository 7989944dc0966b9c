package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/storage/sqlstore"
)

// TestMigrationBackfillsSeriesStatus opens a file that has only 0001
// applied, with a published and a withdrawn article in a series, and checks
// that 0002 copies each article's status into article_series.
func TestMigrationBackfillsSeriesStatus(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	ms, err := sqlstore.Migrations(dialect)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		t.Fatal(err)
	}
	pub := time.Date(2019, 4, 24, 12, 0, 0, 0, time.UTC).UnixMicro()
	for _, stmt := range []string{
		ms[0].SQL,
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
		`INSERT INTO schema_migrations VALUES (1, '0001_init.sql', 0)`,
		`INSERT INTO articles VALUES ('a1', 'g1', 'society', 'published', ?1, ?1, '', '{}'),
			('a2', 'g2', 'society', 'withdrawn', ?1, ?1, '', '{}')`,
		`INSERT INTO article_series VALUES ('s', 'a1', ?1), ('s', 'a2', ?1), ('t', 'a2', ?1)`,
	} {
		if _, err := db.ExecContext(ctx, stmt, pub); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := readDB(t, s).QueryContext(ctx, `SELECT series || '/' || article_id || '=' || status FROM article_series ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	want := []string{"s/a1=published", "s/a2=withdrawn", "t/a2=withdrawn"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("article_series after migration = %v, want %v", got, want)
	}
	n, err := s.CountArticles(ctx, article.Query{Series: "s", Status: article.StatusPublished})
	if err != nil || n != 1 {
		t.Errorf("published series count = %d, %v; want 1", n, err)
	}
}
