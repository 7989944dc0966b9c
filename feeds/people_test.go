package feeds

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/config"
	"github.com/syndicated/syndicated/feeds/feedstate"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// newPeopleSet is newTestSet with author and tag feeds on.
func newPeopleSet(tb testing.TB, s article.Store, now func() time.Time, cacheBytes int64) *Set {
	tb.Helper()
	cfg := config.Default()
	zone, _ := cfg.Location()
	people := &Spec{BaseURL: testBase, Language: "en", Author: "Syndicated", HubURL: "https://news.example/websub"}
	b, err := NewBuilder(s, testSpecs(""), Options{Now: now, Version: "test", Location: zone, People: people})
	if err != nil {
		tb.Fatal(err)
	}
	state, _ := s.(feedstate.Store)
	set := NewSet(b, SetOptions{MaxAge: time.Minute, State: state, CacheBytes: cacheBytes})
	if _, err := set.Rebuild(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return set
}

// TestPersonFeeds: every author and tag has a feed in three formats,
// valid like the section feeds, named after the byline or the tag as
// written; unknown ones are 404, a slug written otherwise is moved to
// the canonical one; an article change rebuilds only the feeds of its
// authors and tags, and Rebuild names them.
func TestPersonFeeds(t *testing.T) {
	sch := jsonFeedSchema(t)
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		arts := seedArticles()
		seed(t, st, arts)
		set := newPeopleSet(t, st, func() time.Time { return fixedNow }, 0)
		ctx := context.Background()
		for _, c := range []struct {
			path, title string
			ids         []string
		}{
			{"/feeds/authors/he-wei", "Stories by He Wei", []string{"powerhouse-in-the-making"}},
			{"/feeds/authors/zhao-lan", "Stories by Zhao Lan", []string{"two-bylines"}},
			{"/feeds/authors/王芳", "Stories by 王芳", []string{"chinese-text"}},
			{"/feeds/tags/urban-planning", "Stories tagged urban planning", []string{"powerhouse-in-the-making"}},
			{"/feeds/tags/shanghai-70th", "Stories tagged shanghai-70th", []string{"powerhouse-in-the-making", "chinese-text"}},
		} {
			for _, f := range Formats {
				path := c.path + "." + f.Ext()
				body, _, err := set.Get(ctx, path)
				if err != nil {
					t.Errorf("%s: %v", path, err)
					continue
				}
				self := testBase + (&url.URL{Path: path}).EscapedPath()
				switch f {
				case RSS:
					checkRSSRules(t, body, self, "https://news.example/websub")
				case Atom:
					checkAtomRules(t, body, self, "https://news.example/websub")
				case JSON:
					validateJSONFeed(t, sch, body)
					checkJSONKeys(t, body)
				}
				feed, err := gofeed.NewParser().ParseString(string(body))
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				if feed.Title != c.title || feed.FeedLink != self {
					t.Errorf("%s: title %q, self %q", path, feed.Title, feed.FeedLink)
				}
				var ids []string
				for _, it := range feed.Items {
					for _, a := range arts {
						if a.GUID == it.GUID {
							ids = append(ids, a.ID)
						}
					}
				}
				if !slices.Equal(ids, c.ids) {
					t.Errorf("%s: items %v, want %v", path, ids, c.ids)
				}
			}
		}
		var moved *MovedError
		if _, _, err := set.Get(ctx, "/feeds/authors/He-Wei.rss"); !errors.As(err, &moved) || moved.Path != "/feeds/authors/he-wei.rss" {
			t.Errorf("a slug written otherwise: %v", err)
		}
		for _, p := range []string{"/feeds/authors/nobody.rss", "/feeds/tags/.rss", "/feeds/authors/he-wei.xml",
			"/feeds/authors/he-wei/archive/2019-04.rss", "/feeds/tags/withdrawn-only.json"} {
			if _, _, err := set.Get(ctx, p); !IsNotFound(err) {
				t.Errorf("%s: %v, want not found", p, err)
			}
		}
		before := map[string]*resource{}
		for _, p := range []string{"/feeds/authors/he-wei.rss", "/feeds/authors/zhao-lan.rss", "/feeds/tags/transport.rss", "/feeds/tags/urban-planning.rss"} {
			r, err := set.lookup(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			before[p] = r
		}
		// Edit He Wei's story: his feed and its tags' change, no other.
		ed := *arts[0]
		ed.Headline = "Powerhouse in the making, corrected"
		if _, err := st.PutArticle(ctx, &ed, fixedNow); err != nil {
			t.Fatal(err)
		}
		changes, err := set.Rebuild(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var touched []string
		for _, c := range changes {
			if c.SHA256 == "" {
				touched = append(touched, c.Path)
			}
		}
		for _, want := range []string{"/feeds/authors/he-wei.rss", "/feeds/tags/urban-planning.json", "/feeds/tags/shanghai-70th.atom"} {
			if !slices.Contains(touched, want) {
				t.Errorf("Rebuild reports %v, lacking %s", touched, want)
			}
		}
		if slices.Contains(touched, "/feeds/authors/zhao-lan.rss") {
			t.Errorf("Rebuild reports an untouched author feed")
		}
		for p, r := range before {
			now, err := set.lookup(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			rebuilt := now != r
			want := p == "/feeds/authors/he-wei.rss" || p == "/feeds/tags/urban-planning.rss"
			if rebuilt != want {
				t.Errorf("%s rebuilt: %t, want %t", p, rebuilt, want)
			}
			if p == "/feeds/authors/he-wei.rss" && !strings.Contains(string(now.plain.body), "corrected") {
				t.Errorf("He Wei's feed lacks the edit")
			}
		}
	})
}

// TestPersonFeedsMemoryBound: however many author feeds are asked for,
// the documents held stay within the budget, and an evicted feed is
// built again with the same validators.
func TestPersonFeedsMemoryBound(t *testing.T) {
	st := storagetest.SQLite(t)
	var arts []*article.Article
	for i := range 60 {
		a := story(fmt.Sprintf("s%02d", i), day(2019, 4, 1, 9).Add(time.Duration(i)*time.Hour))
		a.Authors = []article.Author{{Name: fmt.Sprintf("Reporter %02d", i)}}
		arts = append(arts, a)
	}
	seed(t, st, arts)
	const budget = 40 << 10
	set := newPeopleSet(t, st, func() time.Time { return day(2019, 5, 1, 9) }, budget)
	srv := httptest.NewServer(set)
	defer srv.Close()
	first := map[string]string{}
	for round := range 2 {
		for i := range 60 {
			path := fmt.Sprintf("/feeds/authors/reporter-%02d.atom", i)
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d", path, resp.StatusCode)
			}
			if round == 0 {
				first[path] = resp.Header.Get("ETag")
			} else if first[path] != resp.Header.Get("ETag") {
				t.Errorf("%s: ETag %s, was %s", path, resp.Header.Get("ETag"), first[path])
			}
			if _, size := set.CacheStats(); size > budget {
				t.Fatalf("cache holds %d bytes, budget %d", size, budget)
			}
		}
	}
	if docs, _ := set.CacheStats(); docs == 0 || docs >= 180 {
		t.Errorf("cache holds %d documents; want some, not all 180", docs)
	}
}
