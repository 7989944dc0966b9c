package feeds

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/sqlite"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// benchArticle is article i of a growing newsroom: every article is in the
// Society section, one in ten also in the series; a photo on one in three.
func benchArticle(i int, start time.Time) *article.Article {
	t := start.Add(time.Duration(i) * 17 * time.Minute)
	id := fmt.Sprintf("bench-%07d", i)
	a := &article.Article{
		ID: id, GUID: "tag:syndicated.example,2019:" + id, Section: "society",
		Headline: fmt.Sprintf("Story number %d from the city desk", i),
		Deck:     "A deck that sums up the story in one sentence, as editors write them.",
		Authors:  []article.Author{{Name: fmt.Sprintf("Reporter %d", i%40), Place: "Shanghai"}},
		Dateline: "Shanghai", Publication: "China Daily",
		Published: t, Updated: t.Add(30 * time.Minute),
		Language: "en", Tags: []string{"city"}, Status: article.StatusPublished,
		CanonicalURL: "https://news.example/a/" + id + ".html",
	}
	paras := make([]string, 8)
	for j := range paras {
		paras[j] = fmt.Sprintf("Paragraph %d of story %d. It runs to a few sentences, quoting officials and residents, "+
			"giving figures for the district's plans and the context a reader needs to follow them.", j+1, i)
	}
	a.Body = []article.Page{{Number: 1, Paragraphs: paras}}
	if i%10 == 0 {
		a.Series = []string{"shanghai-70th"}
		a.Tags = append(a.Tags, "shanghai-70th")
		a.EditorsNote = "This story is part of a series on the 70th anniversary of the liberation of Shanghai."
	}
	if i%3 == 0 {
		a.Photo = &article.Photo{URL: "https://img.news.example/" + id + ".jpg", Caption: "A street scene.", Credit: "PROVIDED TO CHINA DAILY"}
	}
	return a
}

// BenchmarkRebuild measures Set.Rebuild (all six subscription feeds: query,
// render, compare, gzip when changed) over stores of 1k, 10k and 100k
// articles. The store is seeded once per process and grown between sizes;
// each iteration rebuilds from the store (the bytes are unchanged, as in a
// steady scheduled build), and "changed" sub-benchmarks add one article
// per iteration so that every build also re-renders and recompresses.
func BenchmarkRebuild(b *testing.B) {
	ctx := context.Background()
	start := time.Date(2015, 1, 1, 8, 0, 0, 0, shanghai)
	backends := map[string]storage.Storage{}
	open := func(name string) storage.Storage {
		if s := backends[name]; s != nil {
			return s
		}
		var s storage.Storage
		if name == "postgres" {
			if os.Getenv(storagetest.PostgresURLEnv) == "" {
				b.Skip("PostgreSQL not configured")
			}
			s = storagetest.Postgres(b)
		} else {
			var err error
			if s, err = sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db")); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
		}
		backends[name] = s
		return s
	}
	seeded := map[string]int{}
	for _, backend := range storagetest.Names {
		for _, n := range []int{1_000, 10_000, 100_000} {
			var set *Set
			var now time.Time
			setup := func(b *testing.B) {
				st := open(backend)
				// Seed in bulk batches: PutArticles applies the same merge
				// rule, and on PostgreSQL refreshes planner statistics
				// after large batches, as autovacuum would in production.
				for i := seeded[backend]; i < n; {
					batch := make([]*article.Article, 0, 5000)
					for ; i < n && len(batch) < cap(batch); i++ {
						batch = append(batch, benchArticle(i, start))
					}
					if _, err := st.PutArticles(ctx, batch, start); err != nil {
						b.Fatal(err)
					}
					seeded[backend] = i
				}
				now = benchArticle(seeded[backend]-1, start).Published
				bld, err := NewBuilder(st, testSpecs("https://hub.example/"), Options{Now: func() time.Time { return now }})
				if err != nil {
					b.Fatal(err)
				}
				set = NewSet(bld, SetOptions{State: st})
				if _, err := set.Rebuild(ctx); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
			}
			name := fmt.Sprintf("%s/%dk", backend, n/1000)
			// steady: the scheduled build when nothing changed.
			b.Run(name+"/steady", func(b *testing.B) {
				setup(b)
				for b.Loop() {
					if _, err := set.Rebuild(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
			// new: one article published per build, so every feed of the
			// section (and of the series, one time in ten) is re-rendered
			// and recompressed.
			b.Run(name+"/new", func(b *testing.B) {
				setup(b)
				st := open(backend)
				for b.Loop() {
					b.StopTimer()
					a := benchArticle(seeded[backend], start)
					if _, err := st.PutArticle(ctx, a, a.Published); err != nil {
						b.Fatal(err)
					}
					seeded[backend]++
					now = a.Published
					b.StartTimer()
					if ch, err := set.Rebuild(ctx); err != nil || len(ch) == 0 {
						b.Fatal(ch, err)
					}
				}
			})
			// invalidated: after Invalidate (a withdrawal, say), the build
			// renders every feed again.
			b.Run(name+"/invalidated", func(b *testing.B) {
				setup(b)
				for b.Loop() {
					set.Invalidate()
					if _, err := set.Rebuild(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
