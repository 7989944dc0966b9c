package feeds

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

func TestPeriodNames(t *testing.T) {
	at := time.Date(2019, 4, 24, 23, 30, 0, 0, shanghai) // a Wednesday, 15:30 UTC
	for _, c := range []struct {
		k          PeriodKind
		name       string
		start, end time.Time
	}{
		{ByMonth, "2019-04", time.Date(2019, 4, 1, 0, 0, 0, 0, shanghai), time.Date(2019, 5, 1, 0, 0, 0, 0, shanghai)},
		{ByWeek, "2019-W17", time.Date(2019, 4, 22, 0, 0, 0, 0, shanghai), time.Date(2019, 4, 29, 0, 0, 0, 0, shanghai)},
		{ByDay, "2019-04-24", time.Date(2019, 4, 24, 0, 0, 0, 0, shanghai), time.Date(2019, 4, 25, 0, 0, 0, 0, shanghai)},
	} {
		p := PeriodOf(c.k, at, shanghai)
		if p.String() != c.name || !p.Start(shanghai).Equal(c.start) || !p.End(shanghai).Equal(c.end) {
			t.Errorf("%s: %s [%v, %v), want %s [%v, %v)", c.k, p, p.Start(shanghai), p.End(shanghai), c.name, c.start, c.end)
		}
		back, err := ParsePeriod(c.name)
		if err != nil || back != p {
			t.Errorf("ParsePeriod(%q) = %+v, %v; want %+v", c.name, back, err, p)
		}
	}
	// ISO weeks across a year's end, and a year with 53.
	for name, monday := range map[string]time.Time{
		"2020-W01": time.Date(2019, 12, 30, 0, 0, 0, 0, time.UTC),
		"2020-W53": time.Date(2020, 12, 28, 0, 0, 0, 0, time.UTC),
		"2021-W01": time.Date(2021, 1, 4, 0, 0, 0, 0, time.UTC),
	} {
		p, err := ParsePeriod(name)
		if err != nil || !p.Start(time.UTC).Equal(monday) || PeriodOf(ByWeek, monday.Add(50*time.Hour), time.UTC) != p {
			t.Errorf("%s: %+v, %v; want the week of %v", name, p, err, monday)
		}
	}
	for _, bad := range []string{"2019-W54", "2019-W53", "2019-13", "2019-02-30", "2019-4", "19-04", "2019-04-24-0", "2019-04-24-x", "2019-04-2"} {
		if _, err := parsePageRef(bad); err == nil {
			t.Errorf("parsePageRef(%q) accepted", bad)
		}
	}
	if r, err := parsePageRef("2019-04-24-2"); err != nil || r.String() != "2019-04-24-2" || r.part != 2 {
		t.Errorf("part: %+v, %v", r, err)
	}
}

// story is a Society story published at t.
func story(id string, t time.Time) *article.Article {
	a := manyArticles(1, t)[0]
	a.ID, a.GUID, a.Series = id, "tag:syndicated.example,2019:"+id, nil
	a.Published, a.Updated = t, t
	return a
}

// storiesAt makes n stories at t, t+1min, … named prefix-1, prefix-2, ….
func storiesAt(prefix string, n int, t time.Time) []*article.Article {
	out := make([]*article.Article, n)
	for i := range out {
		out[i] = story(fmt.Sprintf("%s-%d", prefix, i+1), t.Add(time.Duration(i)*time.Minute))
	}
	return out
}

func day(y int, m time.Month, d, hour int) time.Time {
	return time.Date(y, m, d, hour, 0, 0, 0, shanghai)
}

// busyStore seeds the Society stories of TestBusyFeedPaging.
func busyStories() []*article.Article {
	var arts []*article.Article
	arts = append(arts, storiesAt("jan", 3, day(2019, 1, 15, 9))...)   // a quiet month
	arts = append(arts, storiesAt("mar1", 2, day(2019, 3, 1, 9))...)   // March has 8: paged by day
	arts = append(arts, storiesAt("mar2", 6, day(2019, 3, 2, 9))...)   // a day of 6: two parts
	arts = append(arts, storiesAt("apr", 4, day(2019, 4, 10, 9))...)   // a quiet month again
	arts = append(arts, storiesAt("may1", 6, day(2019, 5, 1, 9))...)   // May so far: 14, by day
	arts = append(arts, storiesAt("may2", 1, day(2019, 5, 2, 9))...)   //
	arts = append(arts, storiesAt("may3", 7, day(2019, 5, 3, 8))...)   // today: one full part, 2 open
	arts = append(arts, storiesAt("later", 1, day(2019, 5, 3, 23))...) // not published yet
	return arts
}

func busySpecs() []Spec {
	specs := testSpecs("")
	specs[0].Limit, specs[0].PageItems = 3, 5
	return specs
}

// walkArchive follows prev-archive from the subscription feed of spec in
// format f and returns the documents' names (newest first), every item's
// GUID by document, and the subscription feed's GUIDs. It checks each
// document's self, current and next-archive links and its size on the way.
func walkArchive(t *testing.T, set *Set, spec *Spec, f Format) (docs []string, onDoc map[string][]string, feedItems []string) {
	t.Helper()
	ctx := context.Background()
	body, _, err := set.Get(ctx, spec.FeedPath(f))
	if err != nil {
		t.Fatal(err)
	}
	feed, err := gofeed.NewParser().Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range feed.Items {
		feedItems = append(feedItems, it.GUID)
	}
	onDoc = map[string][]string{}
	wantNext := ""
	for next := historyLink(t, f, body, feed, "prev-archive"); next != ""; {
		path := next[len(testBase):]
		body, _, err := set.Get(ctx, path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		page, err := gofeed.NewParser().Parse(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		name := path[len(spec.Path+"/archive/") : len(path)-len(f.Ext())-1]
		if slices.Contains(docs, name) {
			t.Fatalf("the chain loops at %s", name)
		}
		docs = append(docs, name)
		if len(page.Items) == 0 || len(page.Items) > spec.PageItems {
			t.Errorf("%s holds %d items, want 1 to %d", name, len(page.Items), spec.PageItems)
		}
		if got := historyLink(t, f, body, page, "next-archive"); got != wantNext {
			t.Errorf("%s: next-archive %q, want %q", name, got, wantNext)
		}
		if got := historyLink(t, f, body, page, "current"); got != spec.FeedURL(f) {
			t.Errorf("%s: current %q", name, got)
		}
		for _, it := range page.Items {
			onDoc[name] = append(onDoc[name], it.GUID)
		}
		wantNext = next
		next = historyLink(t, f, body, page, "prev-archive")
	}
	return docs, onDoc, feedItems
}

// TestBusyFeedPaging: a quiet month is one document, a busy one is paged
// by day, a busy day in parts, empty periods have no document and the
// chain skips them; every story published is on exactly one archived
// document, or, while its document is not archived, in the subscription
// feed; old period URLs lead to the documents that now hold their stories.
func TestBusyFeedPaging(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		arts := busyStories()
		seed(t, st, arts)
		now := day(2019, 5, 3, 12)
		set := newTestSet(t, st, busySpecs(), func() time.Time { return now })
		spec := &set.b.specs[0]
		ctx := context.Background()
		wantDocs := []string{"2019-05-03-1", "2019-05-02", "2019-05-01-2", "2019-05-01-1", "2019-04",
			"2019-03-02-2", "2019-03-02-1", "2019-03-01", "2019-01"}
		for _, f := range Formats {
			docs, onDoc, feedItems := walkArchive(t, set, spec, f)
			if !slices.Equal(docs, wantDocs) {
				t.Errorf("%s: chain %v, want %v", f, docs, wantDocs)
			}
			times := map[string]int{}
			for _, guids := range onDoc {
				for _, g := range guids {
					times[g]++
				}
			}
			for _, a := range arts {
				open := a.Published.After(day(2019, 5, 3, 8).Add(4*time.Minute)) && !a.Published.After(now)
				switch {
				case a.Published.After(now):
					if times[a.GUID] != 0 || slices.Contains(feedItems, a.GUID) {
						t.Errorf("%s: %s is shown before its time", f, a.ID)
					}
				case open:
					if times[a.GUID] != 0 || !slices.Contains(feedItems, a.GUID) {
						t.Errorf("%s: %s (not archived yet) on %d documents, in the feed: %t", f, a.ID, times[a.GUID], slices.Contains(feedItems, a.GUID))
					}
				case times[a.GUID] != 1:
					t.Errorf("%s: %s on %d archive documents, want 1", f, a.ID, times[a.GUID])
				}
			}
			if len(feedItems) != 3 {
				t.Errorf("%s: feed holds %d items, want Limit (3)", f, len(feedItems))
			}
			if got := onDoc["2019-03-02-1"]; len(got) != 5 || got[0] != "tag:syndicated.example,2019:mar2-1" {
				t.Errorf("%s: first part of 2 March %v, want the five oldest", f, got)
			}
		}
		paths, err := set.ArchivePaths(ctx)
		if err != nil || len(paths) != 3*len(wantDocs) || paths[0] != spec.archivePath(RSS, pageRef{period: mustPeriod("2019-05-03"), part: 1}) {
			t.Errorf("ArchivePaths: %d, %v (first %v)", len(paths), err, paths[:min(1, len(paths))])
		}

		// Old and other period URLs lead to the documents holding their
		// stories; before the first story and in the future, nothing.
		srv := httptest.NewServer(set)
		defer srv.Close()
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		arch := spec.Path + "/archive/"
		for from, to := range map[string]string{
			"2019-03.atom":      arch + "2019-03-01.atom",   // March is paged by day now
			"2019-02.rss":       arch + "2019-03-01.rss",    // empty: the next document
			"2019-03-02.json":   arch + "2019-03-02-1.json", // a day in parts
			"2019-W09.atom":     arch + "2019-03-01.atom",   // weeks are not documents here
			"2019-05.atom":      arch + "2019-05-01-1.atom", // the current month, by day
			"2019-05-03-2.atom": spec.FeedPath(Atom),        // not full yet
			"2019-05-03.atom":   arch + "2019-05-03-1.atom",
			"2.atom":            arch + "2019-03-01.atom", // numbered page 2 (of Limit 3) began with the 4th story
			"2019-01.atom":      "",                       // a document: 200
			"2018-12.atom":      "404",
			"2019-06.atom":      "404",
		} {
			resp, err := client.Get(srv.URL + arch + from)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			switch to {
			case "":
				if resp.StatusCode != 200 {
					t.Errorf("%s: %d, want 200", from, resp.StatusCode)
				}
			case "404":
				if resp.StatusCode != 404 {
					t.Errorf("%s: %d, want 404", from, resp.StatusCode)
				}
			default:
				if resp.StatusCode != 301 || resp.Header.Get("Location") != to {
					t.Errorf("%s: %d → %q, want 301 → %s", from, resp.StatusCode, resp.Header.Get("Location"), to)
				}
			}
		}

		// The day ends: its second part is archived, the first part links
		// it, the feed links it as prev-archive.
		now = day(2019, 5, 4, 1)
		if _, err := set.Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
		docs, onDoc, feedItems := walkArchive(t, set, spec, Atom)
		if want := append([]string{"2019-05-03-2"}, wantDocs...); !slices.Equal(docs, want) {
			t.Errorf("next day: chain %v, want %v", docs, want)
		}
		if len(onDoc["2019-05-03-2"]) != 3 || len(feedItems) != 3 {
			t.Errorf("next day: the second part holds %d, the feed %d; want 3 (with the late story) and 3", len(onDoc["2019-05-03-2"]), len(feedItems))
		}
	})
}

func mustPeriod(s string) Period {
	p, err := ParsePeriod(s)
	if err != nil {
		panic(err)
	}
	return p
}

// TestWeekPeriod: a feed configured by week names its documents by ISO
// week, and a busy week is paged by day.
func TestWeekPeriod(t *testing.T) {
	st := storagetest.SQLite(t)
	var arts []*article.Article
	arts = append(arts, storiesAt("w1", 2, day(2019, 12, 30, 9))...) // 2020-W01 (a Monday of 2019)
	arts = append(arts, storiesAt("w2", 3, day(2020, 1, 8, 9))...)
	arts = append(arts, storiesAt("w2b", 3, day(2020, 1, 9, 9))...) // 2020-W02 has 6: by day
	arts = append(arts, storiesAt("w5", 4, day(2020, 1, 29, 9))...)
	seed(t, st, arts)
	specs := busySpecs()
	specs[0].Period = ByWeek
	set := newTestSet(t, st, specs, func() time.Time { return day(2020, 2, 10, 9) })
	docs, _, _ := walkArchive(t, set, &set.b.specs[0], RSS)
	if want := []string{"2020-W05", "2020-01-09", "2020-01-08", "2020-W01"}; !slices.Equal(docs, want) {
		t.Errorf("chain %v, want %v", docs, want)
	}
	var moved *MovedError
	if _, _, err := set.Get(context.Background(), "/feeds/society/archive/2020-01.rss"); !errors.As(err, &moved) ||
		moved.Path != "/feeds/society/archive/2020-01-08.rss" {
		t.Errorf("a month URL: %v, want a move to the document of its first story", err)
	}
}

// TestPreciseInvalidation: a back-dated story drops the cached documents
// whose span holds its time and leaves the others built; a Rebuild
// without changes drops nothing.
func TestPreciseInvalidation(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		seed(t, st, busyStories())
		now := day(2019, 5, 3, 12)
		set := newTestSet(t, st, busySpecs(), func() time.Time { return now })
		ctx := context.Background()
		paths, err := set.ArchivePaths(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held := map[string]*resource{}
		for _, p := range paths {
			r, err := set.lookup(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			held[p] = r
		}
		if _, err := set.Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
		kept := func() (same []string) {
			for p, r := range held {
				set.cacheMu.Lock()
				got := set.cache.get(p, now)
				set.cacheMu.Unlock()
				if got == r {
					same = append(same, p)
				}
			}
			slices.Sort(same)
			return same
		}
		if n := len(kept()); n != len(held) {
			t.Fatalf("a Rebuild without changes dropped %d documents", len(held)-n)
		}
		// A story filed late for 10 April: April changes; its neighbours'
		// spans (March by day, May by day) hold April too.
		seed(t, st, []*article.Article{story("apr-late", day(2019, 4, 11, 9))})
		set.Invalidate()
		if _, err := set.Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, d := range []string{"2019-01", "2019-03-01", "2019-03-02-1", "2019-05-01-2", "2019-05-02", "2019-05-03-1"} {
			for _, f := range Formats {
				want = append(want, "/feeds/society/archive/"+d+"."+f.Ext())
			}
		}
		slices.Sort(want)
		if got := kept(); !slices.Equal(got, want) {
			t.Errorf("kept %v\nwant %v", got, want)
		}
	})
}
