package feeds

import (
	"context"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// TestCountCarriedForward: the count a build carries forward stays equal to
// a full count as articles are added and come due, and after Invalidate
// when one is withdrawn.
func TestCountCarriedForward(t *testing.T) {
	st := storagetest.SQLite(t)
	ctx := context.Background()
	start := time.Date(2019, 1, 1, 8, 0, 0, 0, shanghai)
	arts := manyArticles(300, start)
	seed(t, st, arts[:120])
	now := start.Add(119 * time.Hour)
	specs := testSpecs("")
	specs[1].Limit, specs[1].ArchivePageSize = 20, 10
	b, err := NewBuilder(st, specs, Options{Now: func() time.Time { return now }, RecountEvery: 1000 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	set := NewSet(b, SetOptions{})
	check := func(when string) {
		t.Helper()
		if _, err := set.Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
		fresh, _ := NewBuilder(st, specs, Options{Now: func() time.Time { return now }})
		docs, err := fresh.Build(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			got, _, _ := set.Get(ctx, d.Path)
			if string(got) != string(d.Body) {
				t.Errorf("%s: %s differs from a fresh build (pages %d)", when, d.Path, d.Pages)
			}
		}
	}
	check("first")
	seed(t, st, arts[120:135]) // 15 new, published after now: not due yet
	check("future added")
	now = now.Add(10 * time.Hour) // 10 come due
	check("some due")
	now = now.Add(100 * time.Hour) // the rest come due
	seed(t, st, arts[135:300])     // 165 more, many due at once (> Limit)
	now = now.Add(200 * time.Hour)
	check("many due")
	w := *arts[3]
	w.Status = article.StatusWithdrawn
	if _, err := st.PutArticle(ctx, &w, now); err != nil {
		t.Fatal(err)
	}
	set.Invalidate()
	check("withdrawn")
}
