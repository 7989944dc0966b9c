package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/syndicated/syndicated/storage"
)

// hubRecorder is a WebSub hub that accepts every publish ping and records
// its topic.
type hubRecorder struct {
	mu     sync.Mutex
	topics []string
}

func (h *hubRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("hub.mode") != "publish" {
		http.Error(w, "bad ping", http.StatusBadRequest)
		return
	}
	topic := r.PostForm.Get("hub.url")
	if topic == "" {
		topic = r.PostForm.Get("hub.topic")
	}
	h.mu.Lock()
	h.topics = append(h.topics, topic)
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// take returns the topics pinged since the last take.
func (h *hubRecorder) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.topics
	h.topics = nil
	return out
}

func (h *hubRecorder) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.topics)
}

// TestHubNotPingedAgainAfterRestart: the first start pings the hub for
// every feed and records the pings in the store; a restart over the same
// data pings nothing for unchanged feeds, and a later change pings only
// the feeds it changed.
func TestHubNotPingedAgainAfterRestart(t *testing.T) {
	hub := &hubRecorder{}
	hs := httptest.NewServer(hub)
	defer hs.Close()
	const token = "hub-test-token-0123456789"
	env := []string{"SYNDICATED_FEEDS_HUB_URL=" + hs.URL + "/", "SYNDICATED_HTTP_API_TOKEN=" + token}
	data := t.TempDir()
	ctx := context.Background()
	feedPaths := []string{"/feeds/series/shanghai-70th.atom", "/feeds/series/shanghai-70th.json", "/feeds/series/shanghai-70th.rss",
		"/feeds/society.atom", "/feeds/society.json", "/feeds/society.rss"}
	pinged := func() bool {
		st, err := storage.Open(ctx, "", data)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		states, err := st.FeedStates(ctx, feedPaths)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range feedPaths {
			if states[p].LastPing.IsZero() {
				return false
			}
		}
		return true
	}
	t.Run("first start", func(t *testing.T) {
		servingIn(t, env, data)
		waitFor(t, "six pings", func() bool { return hub.count() >= len(feedPaths) })
		waitFor(t, "pings recorded", pinged)
		got := hub.take()
		slices.Sort(got)
		if len(got) != len(feedPaths) || !strings.HasSuffix(got[0], feedPaths[0]) {
			t.Errorf("first start pinged %v, want every feed once", got)
		}
	})
	t.Run("restart", func(t *testing.T) {
		base := servingIn(t, env, data)
		// A change to the society section only.
		req, _ := http.NewRequest(http.MethodPost, base+"/api/articles", strings.NewReader(
			`{"id":"hub-test-story","section":"society","headline":"Ferry timetable changes","published":"2019-07-01T09:00:00+08:00","body":["First paragraph."]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("push: %d", resp.StatusCode)
		}
		waitFor(t, "society pings", func() bool { return hub.count() >= 3 })
		waitFor(t, "pings recorded", pinged)
		got := hub.take()
		slices.Sort(got)
		want := []string{"/feeds/society.atom", "/feeds/society.json", "/feeds/society.rss"}
		if len(got) != len(want) {
			t.Fatalf("after restart and one change the hub got %v, want the society feeds only", got)
		}
		for i := range want {
			if !strings.HasSuffix(got[i], want[i]) {
				t.Errorf("ping %d: %s, want …%s", i, got[i], want[i])
			}
		}
	})
}
