package feeds

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// historyLink returns the RFC 5005 link rel of a parsed feed, whatever the
// format: atom:link in RSS, link in Atom, the _rfc5005 object in JSON.
func historyLink(t *testing.T, f Format, body []byte, feed *gofeed.Feed, rel string) string {
	t.Helper()
	switch f {
	case RSS:
		for _, l := range feed.Extensions["atom"]["link"] {
			if l.Attrs["rel"] == rel {
				return l.Attrs["href"]
			}
		}
		return ""
	case Atom:
		root := parseXML(t, body)
		for _, l := range root.all(nsAtom, "link") {
			if r, _ := l.attr("rel"); r == rel {
				h, _ := l.attr("href")
				return h
			}
		}
		return ""
	default:
		var doc struct {
			NextURL string       `json:"next_url"`
			History *jsonHistory `json:"_rfc5005"`
		}
		if err := jsonUnmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.History == nil {
			return ""
		}
		switch rel {
		case "prev-archive":
			if doc.History.PrevArchive != doc.NextURL {
				t.Errorf("next_url %q differs from prev-archive %q", doc.NextURL, doc.History.PrevArchive)
			}
			return doc.History.PrevArchive
		case "next-archive":
			return doc.History.NextArchive
		case "current":
			return doc.History.Current
		}
		return ""
	}
}

func hasMarker(t *testing.T, f Format, body []byte, name string) bool {
	t.Helper()
	if f == JSON {
		return bytes.Contains(body, []byte(`"`+name+`":true`))
	}
	root := parseXML(t, body)
	parent := root
	if f == RSS {
		parent = root.one("", "channel")
	}
	return parent.one(nsHistory, name) != nil
}

// month is a test shorthand for a month Period.
func month(y int, m time.Month) Period { return Period{ByMonth, y, m, 1} }

// prevMonth is the month before m; nextMonth the one after.
func prevMonth(m Period) Period {
	return PeriodOf(ByMonth, m.Start(time.UTC).AddDate(0, -1, 0), time.UTC)
}
func nextMonth(m Period) Period {
	return PeriodOf(ByMonth, m.Start(time.UTC).AddDate(0, 1, 0), time.UTC)
}

// TestArchiveWalk walks prev-archive links from the subscription feed back
// to the oldest month with gofeed and checks that it saw every article of
// the series exactly once on the archive pages (month pages are disjoint;
// the subscription feed overlaps them only with items a reader dedupes by
// GUID), each on its month's page, in order.
func TestArchiveWalk(t *testing.T) {
	sch := jsonFeedSchema(t)
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		const n = 137 // one a day, 2019-01-10 … 2019-05-26
		start := time.Date(2019, 1, 10, 8, 0, 0, 0, shanghai)
		arts := dailyArticles(n, start)
		seed(t, st, arts)
		now := func() time.Time { return time.Date(2019, 6, 10, 0, 0, 0, 0, shanghai) }
		set := newTestSet(t, st, testSpecs(""), now)
		ctx := context.Background()
		for _, f := range Formats {
			t.Run(f.Ext(), func(t *testing.T) {
				spec := set.b.specs[1]
				body, _, err := set.Get(ctx, spec.FeedPath(f))
				if err != nil {
					t.Fatal(err)
				}
				if hasMarker(t, f, body, "complete") || hasMarker(t, f, body, "archive") {
					t.Errorf("subscription feed of an archived feed carries fh:complete or fh:archive")
				}
				cur, err := gofeed.NewParser().Parse(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				seen := map[string]int{}
				for _, it := range cur.Items {
					seen[it.GUID]++
				}
				if len(cur.Items) != 50 {
					t.Errorf("subscription feed has %d items, want 50", len(cur.Items))
				}
				archived := map[string]int{}
				next := historyLink(t, f, body, cur, "prev-archive")
				if want := spec.ArchiveURL(f, month(2019, 5)); next != want {
					t.Errorf("prev-archive %q, want the last complete month %q", next, want)
				}
				m := month(2019, 5)
				for next != "" {
					path := next[len(testBase):]
					body, _, err := set.Get(ctx, path)
					if err != nil {
						t.Fatalf("%s: %v", path, err)
					}
					switch f {
					case RSS:
						checkRSSRules(t, body, next, "")
					case Atom:
						checkAtomRules(t, body, next, "")
					case JSON:
						validateJSONFeed(t, sch, body)
					}
					if !hasMarker(t, f, body, "archive") {
						t.Errorf("%s lacks fh:archive", path)
					}
					page, err := gofeed.NewParser().Parse(bytes.NewReader(body))
					if err != nil {
						t.Fatalf("%s: gofeed: %v", path, err)
					}
					if cur := historyLink(t, f, body, page, "current"); cur != spec.FeedURL(f) {
						t.Errorf("%s: current %q", path, cur)
					}
					wantNext := ""
					if m != month(2019, 5) {
						wantNext = spec.ArchiveURL(f, nextMonth(m))
					}
					if got := historyLink(t, f, body, page, "next-archive"); got != wantNext {
						t.Errorf("%s: next-archive %q, want %q", path, got, wantNext)
					}
					var want []string
					for _, a := range arts {
						if PeriodOf(ByMonth, a.Published, shanghai) == m {
							want = append(want, a.GUID)
						}
					}
					var got []string
					for _, it := range page.Items {
						got = append(got, it.GUID)
						archived[it.GUID]++
						seen[it.GUID]++
					}
					if !slices.Equal(got, want) {
						t.Errorf("%s holds %d items %v…, want the %d of %s in order", path, len(got), got[:min(2, len(got))], len(want), m)
					}
					next = historyLink(t, f, body, page, "prev-archive")
					m = prevMonth(m)
				}
				if m != month(2018, 12) {
					t.Errorf("walk stopped before January (at %s)", nextMonth(m))
				}
				for _, a := range arts {
					if archived[a.GUID] != 1 {
						t.Errorf("%s on %d archive pages", a.GUID, archived[a.GUID])
					}
				}
				if len(seen) != n {
					t.Errorf("saw %d distinct items, want %d", len(seen), n)
				}
				// Months before the oldest article and after now have no
				// page; the current month's stories are in the feed.
				for _, m := range []Period{month(2018, 12), month(2019, 7)} {
					if _, _, err := set.Get(ctx, spec.ArchivePath(f, m)); !IsNotFound(err) {
						t.Errorf("archive %s: %v, want not found", m, err)
					}
				}
				var moved *MovedError
				if _, _, err := set.Get(ctx, spec.ArchivePath(f, month(2019, 6))); !errors.As(err, &moved) || moved.Path != spec.FeedPath(f) {
					t.Errorf("archive of the current month: %v, want a move to the feed", err)
				}
			})
		}
	})
}

// TestLegacyArchiveRedirects: the numbered pages of old answer with a
// permanent redirect to the month page of their oldest item (or to the
// subscription feed when that month is not over); past the end, 404.
func TestLegacyArchiveRedirects(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		start := time.Date(2019, 1, 10, 8, 0, 0, 0, shanghai)
		seed(t, st, dailyArticles(137, start)) // old page 2 began with the 51st: 2019-03-01
		// 105 visible, 2019-01-10 … 2019-04-24.
		set := newTestSet(t, st, testSpecs(""), func() time.Time { return time.Date(2019, 4, 25, 0, 0, 0, 0, shanghai) })
		srv := httptest.NewServer(set)
		defer srv.Close()
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for _, c := range []struct{ path, status, loc string }{
			{"/feeds/series/shanghai-70th/archive/1.atom", "301", "/feeds/series/shanghai-70th/archive/2019-01.atom"},
			{"/feeds/series/shanghai-70th/archive/2.rss", "301", "/feeds/series/shanghai-70th/archive/2019-03.rss"},
			// Old page 3 began 2019-04-20, in the current month: the
			// subscription feed.
			{"/feeds/society/archive/3.json", "301", "/feeds/society.json"},
			{"/feeds/society/archive/4.json", "404", ""},
		} {
			resp, err := client.Get(srv.URL + c.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := strconv.Itoa(resp.StatusCode); got != c.status || resp.Header.Get("Location") != c.loc {
				t.Errorf("%s: %s → %q, want %s → %q", c.path, got, resp.Header.Get("Location"), c.status, c.loc)
			}
			if c.loc == "" {
				continue
			}
			// The target answers.
			resp, err = http.Get(srv.URL + c.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("%s: redirect target answers %d", c.path, resp.StatusCode)
			}
		}
	})
}

// archiveBytes returns every archive page's bytes by path.
func archiveBytes(t *testing.T, set *Set) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	paths, err := set.ArchivePaths(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		body, _, err := set.Get(context.Background(), p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[p] = body
	}
	return out
}

// changedPaths lists the paths of a and b whose bytes differ, or that one
// of them lacks.
func changedPaths(a, b map[string][]byte) []string {
	var out []string
	for p, body := range a {
		if other, ok := b[p]; !ok || !bytes.Equal(body, other) {
			out = append(out, p)
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// monthPages lists the archive paths of month m for both test specs.
func monthPages(set *Set, m Period) []string {
	var out []string
	for i := range set.b.specs {
		for _, f := range Formats {
			out = append(out, set.b.specs[i].ArchivePath(f, m))
		}
	}
	sort.Strings(out)
	return out
}

// conditionalGet serves path through the handler with only
// If-Modified-Since (when ims is not empty) and returns the response.
func conditionalGet(h http.Handler, path, ims string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	if ims != "" {
		req.Header.Set("If-Modified-Since", ims)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// lastModified returns path's Last-Modified as served.
func lastModified(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	rec := conditionalGet(h, path, "")
	if rec.Code != 200 {
		t.Fatalf("GET %s: %d", path, rec.Code)
	}
	return rec.Header().Get("Last-Modified")
}

// checkRevalidation checks, for every path of before (Last-Modified as
// served then), that a client sending only that If-Modified-Since gets 200
// with a later Last-Modified when the path is in changed, and 304 when not.
func checkRevalidation(t *testing.T, h http.Handler, when string, before map[string]string, changed []string) {
	t.Helper()
	for p, lm := range before {
		rec := conditionalGet(h, p, lm)
		switch {
		case slices.Contains(changed, p):
			now, _ := http.ParseTime(rec.Header().Get("Last-Modified"))
			old, _ := http.ParseTime(lm)
			if rec.Code != 200 || !now.After(old) {
				t.Errorf("%s: changed %s: If-Modified-Since %s gave %d, Last-Modified %s", when, p, lm, rec.Code,
					rec.Header().Get("Last-Modified"))
			}
		case rec.Code != http.StatusNotModified:
			t.Errorf("%s: unchanged %s: If-Modified-Since gave %d, want 304", when, p, rec.Code)
		}
	}
}

// servedLastModified returns Last-Modified of every subscription feed and
// archive page.
func servedLastModified(t *testing.T, set *Set) map[string]string {
	t.Helper()
	out := map[string]string{}
	paths, err := set.ArchivePaths(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(set.Paths(), paths...) {
		out[p] = lastModified(t, set, p)
	}
	return out
}

// TestArchiveStable: a back-dated article and the withdrawal of an
// archived one each change exactly one archive page per feed and format,
// that of their month; If-Modified-Since clients see those changes and
// only those, and so they do when a month ends and its page gains its
// next-archive link, and across a restart (a new Set over the same store).
func TestArchiveStable(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		ctx := context.Background()
		start := time.Date(2019, 1, 10, 8, 0, 0, 0, shanghai)
		arts := dailyArticles(137, start)
		seed(t, st, arts)
		now := time.Date(2019, 6, 10, 0, 0, 0, 0, shanghai)
		clock := func() time.Time { return now }
		set := newTestSet(t, st, testSpecs(""), clock)
		before := archiveBytes(t, set)
		if len(before) != 2*3*5 {
			t.Fatalf("%d archive pages, want January to May for 2 feeds in 3 formats", len(before))
		}
		lms := servedLastModified(t, set)

		// A back-dated article for February, edited long ago: its Updated
		// is older than every feed's newest.
		late := dailyArticles(1, time.Date(2019, 2, 14, 9, 0, 0, 0, shanghai))[0]
		late.ID, late.GUID, late.Headline = "late-feb", "tag:syndicated.example,2019:late-feb", "Filed late"
		seed(t, st, []*article.Article{late})
		set.Invalidate()
		if _, err := set.Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
		after := archiveBytes(t, set)
		if got, want := changedPaths(before, after), monthPages(set, month(2019, 2)); !slices.Equal(got, want) {
			t.Errorf("back-dated insert changed %v, want only %v", got, want)
		}
		checkRevalidation(t, set, "back-dated insert", lms, monthPages(set, month(2019, 2)))

		// Withdraw an archived article of March.
		lms, before = servedLastModified(t, set), after
		w := *arts[60] // 2019-03-11
		w.Status = article.StatusWithdrawn
		if _, err := st.PutArticle(ctx, &w, now); err != nil {
			t.Fatal(err)
		}
		set.Invalidate()
		if _, err := set.Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
		after = archiveBytes(t, set)
		if got, want := changedPaths(before, after), monthPages(set, month(2019, 3)); !slices.Equal(got, want) {
			t.Errorf("withdrawal changed %v, want only %v", got, want)
		}
		checkRevalidation(t, set, "archived withdrawal", lms, monthPages(set, month(2019, 3)))

		// A back-dated article inside the subscription feeds' window,
		// whose Updated is not the newest: the feeds' bytes change, their
		// newest item time does not.
		lms, before = servedLastModified(t, set), after
		mid := dailyArticles(1, time.Date(2019, 5, 20, 20, 0, 0, 0, shanghai))[0]
		mid.ID, mid.GUID = "late-may", "tag:syndicated.example,2019:late-may"
		seed(t, st, []*article.Article{mid})
		if _, err := set.Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
		changed := append(monthPages(set, month(2019, 5)), set.Paths()...)
		checkRevalidation(t, set, "back-dated insert in the feed", lms, changed)

		// A June story is in the subscription feeds only while June runs.
		june := dailyArticles(1, time.Date(2019, 6, 5, 9, 0, 0, 0, shanghai))[0]
		june.ID, june.GUID = "june", "tag:syndicated.example,2019:june"
		june.Series = []string{"shanghai-70th"}
		seed(t, st, []*article.Article{june})
		if _, err := set.Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
		if _, _, err := set.Get(ctx, set.b.specs[0].ArchivePath(RSS, month(2019, 6))); err == nil {
			t.Errorf("June has a page before it ends")
		}

		// June ends: May's page gains its next-archive link, a June page
		// appears, the subscription feeds link it as prev-archive.
		lms = servedLastModified(t, set)
		now = time.Date(2019, 7, 2, 0, 0, 0, 0, shanghai)
		if _, err := set.Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
		changed = append(monthPages(set, month(2019, 5)), set.Paths()...)
		checkRevalidation(t, set, "month end", lms, changed)

		// A restart serves the same validators; a withdrawal made while
		// the process was down moves Last-Modified on all the same.
		lms = servedLastModified(t, set)
		restarted := newTestSet(t, st, testSpecs(""), clock)
		for p, lm := range lms {
			if got := lastModified(t, restarted, p); got != lm {
				t.Errorf("restart: %s Last-Modified %s, was %s", p, got, lm)
			}
		}
		w = *arts[130] // 2019-05-20, in every subscription feed
		w.Status = article.StatusWithdrawn
		if _, err := st.PutArticle(ctx, &w, now); err != nil {
			t.Fatal(err)
		}
		restarted = newTestSet(t, st, testSpecs(""), clock)
		changed = append(monthPages(set, month(2019, 5)), set.Paths()...)
		checkRevalidation(t, restarted, "withdrawal while down", lms, changed)
	})
}

// TestNoPingForUnchangedBytes: after a restart, Rebuild reports as changes
// only the documents whose bytes changed since they were last announced to
// the hub.
func TestNoPingForUnchangedBytes(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		ctx := context.Background()
		arts := seedArticles()
		seed(t, st, arts)
		start := func() *Set {
			b, err := NewBuilder(st, testSpecs("https://hub.example/"), Options{Now: func() time.Time { return fixedNow }})
			if err != nil {
				t.Fatal(err)
			}
			return NewSet(b, SetOptions{State: st})
		}
		set := start()
		changes, err := set.Rebuild(ctx)
		if err != nil || len(changes) != 6 {
			t.Fatalf("first start: %d changes, %v", len(changes), err)
		}
		// Not announced yet: a restart reports them again.
		if changes, err = start().Rebuild(ctx); err != nil || len(changes) != 6 {
			t.Fatalf("restart before any ping: %d changes, %v", len(changes), err)
		}
		if err := set.MarkPublished(ctx, changes, fixedNow); err != nil {
			t.Fatal(err)
		}
		if changes, err = start().Rebuild(ctx); err != nil || len(changes) != 0 {
			t.Fatalf("restart after the ping: %v, %v; want none", changes, err)
		}
		// Edit the agency report (society only) while down.
		ed := *arts[2]
		ed.Body = []article.Page{{Number: 1, Paragraphs: []string{"Corrected agency text."}}}
		if _, err := st.PutArticle(ctx, &ed, fixedNow); err != nil {
			t.Fatal(err)
		}
		changes, err = start().Rebuild(ctx)
		var paths []string
		for _, c := range changes {
			paths = append(paths, c.Path)
		}
		if err != nil || strings.Join(paths, " ") != "/feeds/society.rss /feeds/society.atom /feeds/society.json" {
			t.Errorf("restart after an edit: %v, %v; want the society feeds", paths, err)
		}
	})
}

// TestSmallFeedIsComplete: with fewer items than a page, the subscription
// feed is the whole feed (RFC 5005 §2) and links no archive.
func TestSmallFeedIsComplete(t *testing.T) {
	st := storagetest.SQLite(t)
	seed(t, st, seedArticles())
	set := newTestSet(t, st, testSpecs(""), func() time.Time { return fixedNow })
	for _, f := range Formats {
		body, _, err := set.Get(context.Background(), set.b.specs[1].FeedPath(f))
		if err != nil {
			t.Fatal(err)
		}
		if !hasMarker(t, f, body, "complete") {
			t.Errorf("%s: small feed lacks fh:complete", f)
		}
		if bytes.Contains(body, []byte("prev-archive")) || bytes.Contains(body, []byte("prev_archive")) {
			t.Errorf("%s: small feed links an archive", f)
		}
	}
}

// TestBusyMonth: when the current month holds more than Limit articles,
// the subscription feed holds all of them (no story is on no document);
// once the month is over they are on its archive page, the feed holds
// Limit again, and a walk from the feed finds every article.
func TestBusyMonth(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		start := time.Date(2019, 1, 10, 8, 0, 0, 0, shanghai)
		arts := dailyArticles(70, start) // 2019-01-10 … 2019-03-20: 20 in March
		seed(t, st, arts)
		specs := testSpecs("")
		specs[0].Limit = 10
		now := time.Date(2019, 3, 25, 0, 0, 0, 0, shanghai)
		set := newTestSet(t, st, specs, func() time.Time { return now })
		ctx := context.Background()
		spec := set.b.specs[0]
		walk := func() (feedItems int, seen map[string]bool) {
			seen = map[string]bool{}
			body, _, err := set.Get(ctx, spec.FeedPath(Atom))
			if err != nil {
				t.Fatal(err)
			}
			feed, err := gofeed.NewParser().Parse(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range feed.Items {
				seen[it.GUID] = true
			}
			for next := historyLink(t, Atom, body, feed, "prev-archive"); next != ""; {
				body, _, err := set.Get(ctx, next[len(testBase):])
				if err != nil {
					t.Fatalf("%s: %v", next, err)
				}
				page, err := gofeed.NewParser().Parse(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range page.Items {
					seen[it.GUID] = true
				}
				next = historyLink(t, Atom, body, page, "prev-archive")
			}
			return len(feed.Items), seen
		}
		n, seen := walk()
		if n != 20 {
			t.Errorf("subscription feed holds %d items, want March's 20", n)
		}
		if len(seen) != 70 {
			t.Errorf("mid-March walk saw %d articles, want every one (70)", len(seen))
		}
		now = time.Date(2019, 4, 1, 0, 0, 0, 0, shanghai)
		if _, err := set.Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
		if n, seen = walk(); n != 10 {
			t.Errorf("in April the subscription feed holds %d items, want Limit (10)", n)
		}
		for _, a := range arts {
			if !seen[a.GUID] {
				t.Errorf("%s (%s) is in neither the feed nor the archive once March is over", a.ID, a.Published.Format(time.DateOnly))
			}
		}
	})
}
