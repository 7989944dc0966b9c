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
