package feeds

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/syndicated/syndicated/feeds/websub"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// TestRebuildPingsHub wires Rebuild to websub the way the server does:
// every changed feed URL is pinged, through a hub that fails first; a
// rebuild without change pings nothing.
func TestRebuildPingsHub(t *testing.T) {
	var mu sync.Mutex
	var got []string
	fails := 1
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if fails > 0 {
			fails--
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		_ = r.ParseForm()
		got = append(got, r.PostForm.Get("hub.url"))
		w.WriteHeader(http.StatusAccepted)
	}))
	defer hub.Close()
	st := storagetest.SQLite(t)
	seed(t, st, seedArticles())
	b, err := NewBuilder(st, testSpecs(hub.URL), Options{Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	set := NewSet(b, SetOptions{})
	pub, err := websub.New(hub.URL, websub.Options{Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rebuildAndPing := func() {
		changes, err := set.Rebuild(ctx)
		if err != nil {
			t.Fatal(err)
		}
		urls := make([]string, len(changes))
		for i, c := range changes {
			urls[i] = c.URL
		}
		if err := pub.Publish(ctx, urls...); err != nil {
			t.Fatal(err)
		}
	}
	rebuildAndPing()
	rebuildAndPing()
	want := []string{}
	for _, s := range b.Specs() {
		for _, f := range Formats {
			want = append(want, s.FeedURL(f))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("hub pinged for %v, want %v once each", got, want)
	}
}

// TestWebSubLinkHeaders: with a hub configured every feed response (200
// and 304, every format, archive pages too) names the hub and its own URL
// in Link headers, as WebSub §4 requires of a publisher; without a hub
// there is no Link header.
func TestWebSubLinkHeaders(t *testing.T) {
	st := storagetest.SQLite(t)
	seed(t, st, manyArticles(7, fixedNow.Add(-30*24*time.Hour)))
	specs := testSpecs("https://hub.example/websub")
	specs[1].Limit = 3
	set := newTestSet(t, st, specs, func() time.Time { return fixedNow })
	srv := httptest.NewServer(set)
	defer srv.Close()
	get := func(path, inm string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	paths := set.Paths()
	archived, err := set.ArchivePaths(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	paths = append(paths, archived...)
	if len(archived) == 0 {
		t.Fatal("fixture has no archive page")
	}
	for _, p := range paths {
		resp := get(p, "")
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", p, resp.StatusCode)
		}
		want := []string{`<https://hub.example/websub>; rel="hub"`, "<" + testBase + p + `>; rel="self"`}
		if got := resp.Header.Values("Link"); !slices.Equal(got, want) {
			t.Errorf("%s: Link %q, want %q", p, got, want)
		}
		if nm := get(p, resp.Header.Get("ETag")); nm.StatusCode != 304 || !slices.Equal(nm.Header.Values("Link"), want) {
			t.Errorf("%s: 304 %d with Link %q", p, nm.StatusCode, nm.Header.Values("Link"))
		}
	}
	noHub := newTestSet(t, st, testSpecs(""), func() time.Time { return fixedNow })
	rec := httptest.NewRecorder()
	noHub.ServeHTTP(rec, httptest.NewRequest("GET", "/feeds/society.rss", nil))
	if rec.Code != 200 || rec.Header().Values("Link") != nil {
		t.Errorf("without a hub: %d, Link %q", rec.Code, rec.Header().Values("Link"))
	}
}
