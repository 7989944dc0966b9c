package websub

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

type hub struct {
	mu       sync.Mutex
	failures int // answer 503 this many times first
	status   int // then this (200 when 0)
	got      []string
	calls    int
}

func (h *hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("hub.mode") != "publish" {
		http.Error(w, "bad mode", http.StatusBadRequest)
		return
	}
	if h.failures > 0 {
		h.failures--
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	if h.status != 0 {
		http.Error(w, "no", h.status)
		return
	}
	h.got = append(h.got, r.PostForm.Get("hub.url"))
	w.WriteHeader(http.StatusNoContent)
}

func recordSleep(waits *[]time.Duration) func(context.Context, time.Duration) error {
	return func(ctx context.Context, d time.Duration) error {
		*waits = append(*waits, d)
		return ctx.Err()
	}
}

func TestPublishRetriesThenSucceeds(t *testing.T) {
	h := &hub{failures: 2}
	srv := httptest.NewServer(h)
	defer srv.Close()
	var waits []time.Duration
	p, err := New(srv.URL, Options{Backoff: 10 * time.Millisecond, Sleep: recordSleep(&waits)})
	if err != nil {
		t.Fatal(err)
	}
	topics := []string{"https://news.example/feeds/society.rss", "https://news.example/feeds/society.atom"}
	if err := p.Publish(context.Background(), topics...); err != nil {
		t.Fatal(err)
	}
	if len(h.got) != 2 || h.got[0] != topics[0] || h.got[1] != topics[1] {
		t.Errorf("hub got %v", h.got)
	}
	if len(waits) != 2 || waits[0] != 10*time.Millisecond || waits[1] != 20*time.Millisecond {
		t.Errorf("backoff waits %v, want 10ms then 20ms", waits)
	}
}

func TestPublishGivesUp(t *testing.T) {
	h := &hub{failures: 100}
	srv := httptest.NewServer(h)
	defer srv.Close()
	var waits []time.Duration
	p, _ := New(srv.URL, Options{Attempts: 4, Backoff: time.Second, MaxBackoff: 3 * time.Second, Sleep: recordSleep(&waits)})
	err := p.Publish(context.Background(), "https://news.example/feeds/society.rss")
	if err == nil || h.calls != 4 {
		t.Fatalf("err %v after %d calls, want failure after 4", err, h.calls)
	}
	if len(waits) != 3 || waits[2] != 3*time.Second {
		t.Errorf("waits %v, want capped at 3s", waits)
	}
}

func TestPublishPermanentFailureNotRetried(t *testing.T) {
	h := &hub{status: http.StatusForbidden}
	srv := httptest.NewServer(h)
	defer srv.Close()
	p, _ := New(srv.URL, Options{Sleep: func(context.Context, time.Duration) error { return nil }})
	err := p.Publish(context.Background(), "https://news.example/feeds/society.rss")
	var perm *PermanentError
	if !errors.As(err, &perm) || perm.Status != 403 || h.calls != 1 {
		t.Fatalf("err %v after %d calls", err, h.calls)
	}
}

func TestPublishHonoursContext(t *testing.T) {
	h := &hub{failures: 100}
	srv := httptest.NewServer(h)
	defer srv.Close()
	p, _ := New(srv.URL, Options{Backoff: time.Hour}) // real timer: only ctx ends the wait
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := p.Publish(ctx, "https://news.example/feeds/society.rss", "https://news.example/feeds/society.atom")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want it to wrap the context error", err)
	}
	if h.calls != 1 {
		t.Errorf("%d calls; the second topic should not be tried after ctx is done", h.calls)
	}
}

func TestNewRejectsBadHub(t *testing.T) {
	for _, u := range []string{"", "ftp://hub", "not a url", "http://"} {
		if _, err := New(u, Options{}); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
}
