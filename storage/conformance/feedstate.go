package conformance

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/feeds/feedstate"
	"github.com/syndicated/syndicated/storage"
)

// testFeedState: a path's Last-Modified is kept while its bytes stay the
// same, moves on (never back) when they change, and a ping is recorded only
// for the bytes it announced; concurrent first puts agree on one row.
func testFeedState(t *testing.T, s storage.Storage) {
	const path = "/feeds/society.atom"
	t0 := time.Date(2019, 4, 2, 10, 0, 0, 500, time.UTC)
	got, err := s.FeedStates(ctx(t), []string{path, "/feeds/other.rss"})
	if err != nil || len(got) != 0 {
		t.Fatalf("FeedStates on an empty store = %v, %v", got, err)
	}
	first, err := s.PutFeedState(ctx(t), feedstate.State{Path: path, SHA256: "aa", LastModified: t0})
	if err != nil {
		t.Fatal(err)
	}
	if !first.LastModified.Equal(t0.Truncate(time.Second)) || !first.LastPing.IsZero() {
		t.Errorf("first put = %+v, want Last-Modified %v in whole seconds and no ping", first, t0)
	}
	// The same bytes with another time keep the stored Last-Modified.
	same, err := s.PutFeedState(ctx(t), feedstate.State{Path: path, SHA256: "aa", LastModified: t0.Add(time.Hour)})
	if err != nil || !same.LastModified.Equal(first.LastModified) {
		t.Errorf("same bytes: %+v, %v; want Last-Modified kept at %v", same, err, first.LastModified)
	}
	pinged := t0.Truncate(time.Second).Add(2 * time.Minute)
	if err := s.MarkFeedPinged(ctx(t), path, "aa", pinged); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkFeedPinged(ctx(t), path, "stale", pinged.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err = s.FeedStates(ctx(t), []string{path})
	if err != nil || !got[path].LastPing.Equal(pinged) || got[path].SHA256 != "aa" {
		t.Errorf("after pings: %+v, %v; want LastPing %v (the stale-bytes ping ignored)", got[path], err, pinged)
	}
	// New bytes whose newest item is older (a withdrawal): a second later,
	// and the ping cleared.
	moved, err := s.PutFeedState(ctx(t), feedstate.State{Path: path, SHA256: "bb", LastModified: t0.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if want := first.LastModified.Add(time.Second); !moved.LastModified.Equal(want) || !moved.LastPing.IsZero() {
		t.Errorf("new bytes, older time: %+v; want Last-Modified %v and no ping", moved, want)
	}
	later, err := s.PutFeedState(ctx(t), feedstate.State{Path: path, SHA256: "cc", LastModified: t0.Add(time.Hour)})
	if err != nil || !later.LastModified.Equal(t0.Add(time.Hour).Truncate(time.Second)) {
		t.Errorf("new bytes, newer time: %+v, %v", later, err)
	}
	got, err = s.FeedStates(ctx(t), []string{path})
	if err != nil || got[path] != later {
		t.Errorf("stored %+v, %v; want %+v", got[path], err, later)
	}

	// Replicas building the same new document at once store one row.
	const fresh = "/feeds/series/x/archive/2019-04.rss"
	var wg sync.WaitGroup
	results := make([]feedstate.State, 4)
	errs := make([]error, len(results))
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = s.PutFeedState(ctx(t), feedstate.State{Path: fresh, SHA256: "dd",
				LastModified: t0.Add(time.Duration(i) * time.Second)})
		}()
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil {
			t.Fatalf("concurrent put %d: %v", i, errs[i])
		}
		if !results[i].LastModified.Equal(results[0].LastModified) {
			t.Errorf("concurrent puts disagree: %v and %v", results[i].LastModified, results[0].LastModified)
		}
	}
}

// testArticleListRange: PublishedFrom is inclusive and PublishedUntil
// exclusive, for sections and series, in list and count alike, also
// together with PublishedBefore (inclusive).
func testArticleListRange(t *testing.T, s storage.Storage) {
	apr := time.Date(2019, 4, 1, 0, 0, 0, 0, shanghai)
	may := apr.AddDate(0, 1, 0)
	at := map[string]time.Time{
		"before": apr.Add(-time.Microsecond), "first": apr, "mid": apr.AddDate(0, 0, 14),
		"last": may.Add(-time.Microsecond), "after": may,
	}
	for id, pub := range at {
		a := newArticle(id, pub)
		a.Series = []string{"range"}
		mustPut(t, s, a, pub, article.Created)
	}
	for _, q := range []article.Query{{Section: "society"}, {Series: "range"}} {
		q.PublishedFrom, q.PublishedUntil, q.Oldest = apr.UTC(), may, true
		list, err := s.ListArticles(ctx(t), q)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(list), []string{"first", "mid", "last"}; !slices.Equal(got, want) {
			t.Errorf("%+v: %v, want %v", q, got, want)
		}
		n, err := s.CountArticles(ctx(t), q)
		if err != nil || n != 3 {
			t.Errorf("count %+v = %d, %v; want 3", q, n, err)
		}
		// With PublishedBefore (inclusive) too, the tighter bound holds,
		// whichever it is (the store may keep only that one).
		for _, c := range []struct {
			before time.Time
			want   []string
		}{
			{at["mid"], []string{"first", "mid"}},
			{at["last"], []string{"first", "mid", "last"}},
			{may, []string{"first", "mid", "last"}},
			{may.Add(-time.Nanosecond), []string{"first", "mid", "last"}},
			{may.Add(time.Hour), []string{"first", "mid", "last"}},
			{apr, []string{"first"}},
		} {
			q.PublishedBefore = c.before
			list, err := s.ListArticles(ctx(t), q)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(list); !slices.Equal(got, c.want) {
				t.Errorf("%+v: %v, want %v", q, got, c.want)
			}
			n, err := s.CountArticles(ctx(t), q)
			if err != nil || n != len(c.want) {
				t.Errorf("count %+v = %d, %v; want %d", q, n, err, len(c.want))
			}
		}
	}
}
