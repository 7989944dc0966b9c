package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/storage/sqlstore"
)

// TestMigrationBackfillsAuthorTagFeeds opens a file migrated up to the
// version before 0040 holding two articles, and checks that 0040's Go step
// files them under their author and tag slugs, status and all.
func TestMigrationBackfillsAuthorTagFeeds(t *testing.T) {
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
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version >= 40 {
			break
		}
		if _, err := db.ExecContext(ctx, m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?, 0)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	pub := time.Date(2019, 4, 24, 12, 0, 0, 0, time.UTC)
	for _, a := range []article.Article{
		{ID: "a1", Authors: []article.Author{{Name: "He Wei"}, {Name: "Pan Rui"}}, Tags: []string{"Urban planning"},
			Status: article.StatusPublished, Published: pub},
		{ID: "a2", Authors: []article.Author{{Name: "he wei"}}, Tags: []string{"Pudong", "urban planning"},
			Status: article.StatusWithdrawn, Published: pub},
	} {
		doc, _ := json.Marshal(a)
		if _, err := db.ExecContext(ctx, `INSERT INTO articles VALUES (?, ?, 'society', ?, ?, ?, '', ?)`,
			a.ID, "g"+a.ID, string(a.Status), pub.UnixMicro(), pub.UnixMicro(), string(doc)); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for table, want := range map[string][]string{
		"article_authors": {"he-wei/a1=published", "he-wei/a2=withdrawn", "pan-rui/a1=published"},
		"article_tags":    {"pudong/a2=withdrawn", "urban-planning/a1=published", "urban-planning/a2=withdrawn"},
	} {
		rows, err := readDB(t, s).QueryContext(ctx, `SELECT slug || '/' || article_id || '=' || status FROM `+table+` ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var r string
			if err := rows.Scan(&r); err != nil {
				t.Fatal(err)
			}
			got = append(got, r)
		}
		rows.Close()
		if !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", table, got, want)
		}
	}
	n, err := s.CountArticles(ctx, article.Query{Author: "he-wei", Status: article.StatusPublished})
	if err != nil || n != 1 {
		t.Errorf("He Wei's published articles: %d, %v", n, err)
	}
}
