package storage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/digest/digesttest"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

var benchBase = time.Date(2019, 4, 24, 20, 12, 0, 0, time.FixedZone("CST", 8*3600))

func benchArticle(i int) *article.Article {
	id := fmt.Sprintf("a%06d", i)
	a := &article.Article{
		ID: id, GUID: "urn:syndicated:" + id, Section: "society",
		Headline: "Headline " + id, Deck: "A deck that says what the story is about in a sentence or two.",
		Authors:  []article.Author{{Name: "He Wei", Place: "Shanghai"}},
		Dateline: "Shanghai", Publication: "China Daily",
		Published: benchBase.Add(-time.Duration(i) * time.Minute),
		Body: []article.Page{{Number: 1, Paragraphs: []string{
			"First paragraph of a realistic length, about the city and its people, and what changed over seventy years.",
			"Second paragraph with a quotation from someone who was there, and what they remember of it.",
			"Third paragraph closing the story.",
		}}},
		Language: "en", Tags: []string{"shanghai", "society"}, Status: article.StatusPublished,
	}
	a.Updated = a.Published
	switch {
	case i%3 == 0:
		a.Series = []string{"shanghai-70th"}
	case i%3 == 1:
		a.Section = "world"
	}
	if i%50 == 7 {
		a.Status = article.StatusWithdrawn
	}
	return a
}

// BenchmarkPutArticle measures one new article per op through PutArticle.
func BenchmarkPutArticle(b *testing.B) {
	storagetest.ForEachB(b, func(b *testing.B, s storage.Storage) {
		ctx := context.Background()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			if _, err := s.PutArticle(ctx, benchArticle(i), benchBase); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkInsertSubscribers100k imports 100,000 new subscribers per op.
func BenchmarkInsertSubscribers100k(b *testing.B) {
	const n = 100_000
	storagetest.ForEachB(b, func(b *testing.B, s storage.Storage) {
		ctx := context.Background()
		for round := 0; b.Loop(); round++ {
			b.StopTimer()
			subs := make([]*subscribers.Subscriber, n)
			for i := range subs {
				subs[i] = &subscribers.Subscriber{
					Email: fmt.Sprintf("reader%d-%d@example.com", round, i), Name: "Reader", Status: subscribers.StatusActive,
					Consent: subscribers.Consent{At: benchBase, Source: "import"},
					Lists:   []subscribers.Subscription{{List: "shanghai-70th", Active: true}},
				}
			}
			b.StartTimer()
			inserted, _, err := s.InsertSubscribers(ctx, subs)
			if err != nil || inserted != n {
				b.Fatalf("inserted %d: %v", inserted, err)
			}
		}
	})
}

// seedFeed stores benchArticle 0…n-1 in batches.
func seedFeed(b *testing.B, s storage.Storage, n int) {
	ctx := context.Background()
	const batch = 5000
	for start := 0; start < n; start += batch {
		as := make([]*article.Article, 0, batch)
		for i := start; i < min(start+batch, n); i++ {
			as = append(as, benchArticle(i))
		}
		if _, err := s.PutArticles(ctx, as, benchBase); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFeedCount counts the visible articles of the section and of the
// series, as a feed build does after Builder.Invalidate. Unlike the lists
// this is O(n): it walks the (index) range of every visible article.
func BenchmarkFeedCount(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			storagetest.ForEachB(b, func(b *testing.B, s storage.Storage) {
				ctx := context.Background()
				seedFeed(b, s, n)
				queries := []article.Query{
					{Section: "society", Status: article.StatusPublished, PublishedBefore: benchBase},
					{Series: "shanghai-70th", Status: article.StatusPublished, PublishedBefore: benchBase},
				}
				b.ResetTimer()
				for b.Loop() {
					for _, q := range queries {
						if c, err := s.CountArticles(ctx, q); err != nil || c == 0 {
							b.Fatalf("count %d, %v", c, err)
						}
					}
				}
			})
		})
	}
}

// BenchmarkFeedQueries runs the six queries a feed rebuild makes (newest 50
// visible of the section and of the series, ×3 formats) at growing archive
// sizes; the time per op should stay flat.
func BenchmarkFeedQueries(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			storagetest.ForEachB(b, func(b *testing.B, s storage.Storage) {
				ctx := context.Background()
				seedFeed(b, s, n)
				queries := []article.Query{
					{Section: "society", Status: article.StatusPublished, PublishedBefore: benchBase, Limit: 50},
					{Series: "shanghai-70th", Status: article.StatusPublished, PublishedBefore: benchBase, Limit: 50},
				}
				b.ResetTimer()
				for b.Loop() {
					for range 3 {
						for _, q := range queries {
							as, err := s.ListArticles(ctx, q)
							if err != nil || len(as) != 50 {
								b.Fatalf("%d articles, %v", len(as), err)
							}
						}
					}
				}
			})
		})
	}
}

// BenchmarkClaim measures one claim of 100 deliveries late in a large send:
// the issue has sent rows for subscribers 1…sent and pending ones after
// them, as when a send has got that far. A claim should cost the same with
// 1,000 and with 1,000,000 rows already sent. Each claimed batch is handed
// back (untimed), so every op claims from the same position.
func BenchmarkClaim(b *testing.B) {
	const pending, batch = 10_000, 100
	for _, sent := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprint(sent), func(b *testing.B) {
			open := storagetest.Backends(b)
			for _, name := range storagetest.Names {
				b.Run(name, func(b *testing.B) {
					s := open[name](b)
					ctx := context.Background()
					start := time.Now()
					iss := seedSentIssue(b, s, name, sent, pending)
					b.Logf("seeded %d sent + %d pending deliveries in %v", sent, pending, time.Since(start).Round(time.Millisecond))
					now := time.Now()
					b.ResetTimer()
					for b.Loop() {
						ds, err := digesttest.Claim(ctx, s, iss, "bench", batch, now, time.Minute)
						if err != nil || len(ds) != batch || ds[0].SubscriberID != int64(sent+1) {
							b.Fatalf("claimed %d: %v", len(ds), err)
						}
						b.StopTimer()
						if n, err := s.ReleaseDeliveries(ctx, iss, "bench", now); err != nil || n != batch {
							b.Fatalf("released %d: %v", n, err)
						}
						b.StartTimer()
					}
				})
			}
		})
	}
}

// seedSentIssue creates an issue with sent deliveries to subscribers
// 1…sent and pending ones to the next pending subscribers, in bulk with
// INSERT … SELECT from a row generator, and returns the issue id.
func seedSentIssue(b *testing.B, s storage.Storage, backend string, sent, pending int) string {
	b.Helper()
	ctx := context.Background()
	epoch := "0" // SQLite keeps unix microseconds
	if backend == "postgres" {
		epoch = "TIMESTAMPTZ '1970-01-01 00:00:00+00'"
	}
	rows := fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) `, sent+pending)
	db := storagetest.DB(b, s)
	exec := func(stmt string) {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	// An issue needs a recipient: subscriber 1 is on the list when it is
	// created; the deliveries are then written in bulk over its one.
	exec(`INSERT INTO subscribers (id, email, status, created_at) ` + rows +
		`SELECT i, 'reader' || i || '@example.com', 'active', ` + epoch + ` FROM n`)
	exec(`INSERT INTO subscriptions (subscriber_id, list, active, changed_at) VALUES (1, 'bench', TRUE, ` + epoch + `)`)
	iss, _, err := s.CreateIssue(ctx, digest.Issue{ID: "bench/2019-W18", Series: "bench",
		Week: digest.Week{Year: 2019, Num: 18}, Since: benchBase.Add(-7 * 24 * time.Hour), Until: benchBase}, benchBase)
	if err != nil {
		b.Fatal(err)
	}
	exec(`INSERT INTO digest_deliveries (issue_id, subscriber_id, state, attempts, next_attempt_at, sent_at) ` + rows +
		fmt.Sprintf(`SELECT '%s', i, CASE WHEN i <= %d THEN 'sent' ELSE 'pending' END, 0, %s, NULL FROM n WHERE TRUE`, iss.ID, sent, epoch) +
		// WHERE: SQLite would read the ON of the upsert as a join's.
		` ON CONFLICT (issue_id, subscriber_id) DO UPDATE SET state = excluded.state, next_attempt_at = excluded.next_attempt_at`)
	if backend == "postgres" {
		// What autovacuum would have done by this point of a long send.
		if _, err := db.ExecContext(ctx, `VACUUM ANALYZE subscribers, digest_deliveries`); err != nil {
			b.Fatal(err)
		}
	}
	return iss.ID
}
