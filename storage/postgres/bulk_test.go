package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// TestBulkPutArticlesSpacesVacuum: a bulk PutArticles vacuums and analyzes
// the article tables when they are new or have grown by a quarter since,
// not after every batch, which made seeding quadratic (each VACUUM reads
// the whole table). pg_stat_user_tables counts the VACUUMs of articles.
func TestBulkPutArticlesSpacesVacuum(t *testing.T) {
	st := storagetest.Postgres(t)
	db := storagetest.DB(t, st)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	next := 0
	put := func(n int) {
		t.Helper()
		as := make([]*article.Article, n)
		for i := range as {
			id := fmt.Sprintf("b%06d", next)
			next++
			pub := now.Add(-time.Duration(next) * time.Minute)
			as[i] = &article.Article{ID: id, GUID: "urn:bulk:" + id, Section: "society", Headline: "Story " + id,
				Authors: []article.Author{{Name: "Reporter " + id[len(id)-2:]}}, Tags: []string{"tag " + id[len(id)-1:]},
				Published: pub, Updated: pub, Language: "en", Status: article.StatusPublished,
				Body: []article.Page{{Number: 1, Paragraphs: []string{"A paragraph."}}}}
		}
		if _, err := st.PutArticles(ctx, as, now); err != nil {
			t.Fatal(err)
		}
	}
	vacuums := func() int64 {
		t.Helper()
		var n int64
		if err := db.QueryRowContext(ctx, `SELECT vacuum_count FROM pg_stat_user_tables WHERE relid = 'articles'::regclass`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	put(4000) // a new table: vacuumed
	if v := vacuums(); v != 1 {
		t.Fatalf("after the first bulk write: %d VACUUMs of articles, want 1", v)
	}
	put(1000) // 1,000 more on 4,000: a quarter, due
	if v := vacuums(); v != 2 {
		t.Fatalf("after a quarter more: %d VACUUMs, want 2", v)
	}
	put(1000) // 1,000 on 5,000: not yet
	if v := vacuums(); v != 2 {
		t.Errorf("after 1,000 on 5,000: %d VACUUMs, want still 2", v)
	}
	put(1000) // 2,000 since, on 5,000: due
	if v := vacuums(); v != 3 {
		t.Errorf("after 2,000 on 5,000: %d VACUUMs, want 3", v)
	}
	put(500) // fewer than bulkRows: never
	if v := vacuums(); v != 3 {
		t.Errorf("after a small write: %d VACUUMs, want 3", v)
	}
}
