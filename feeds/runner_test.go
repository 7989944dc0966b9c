package feeds

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/feeds/websub"
	"github.com/syndicated/syndicated/ingest"
	"github.com/syndicated/syndicated/schedule"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
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
	h.mu.Lock()
	h.topics = append(h.topics, strings.TrimPrefix(r.PostForm.Get("hub.url"), testBase))
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// take returns the topics pinged since the last take, sorted.
func (h *hubRecorder) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.topics
	h.topics = nil
	slices.Sort(out)
	return out
}

// runnerSite is a Runner over a store, as serve wires one: the content
// directory scanned by a real importer whose hook is the runner's Changed.
type runnerSite struct {
	st      storage.Storage
	set     *Set
	sched   *schedule.Scheduler
	runner  *Runner
	content string
	out     string
	mu      sync.Mutex
	builds  int
}

func newRunnerSite(t *testing.T, st storage.Storage, hubURL string, cfg RunnerConfig) *runnerSite {
	t.Helper()
	b, err := NewBuilder(st, testSpecs(hubURL), Options{Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	s := &runnerSite{st: st, set: NewSet(b, SetOptions{State: st}), content: t.TempDir(), out: t.TempDir()}
	s.sched = schedule.New(st, slog.New(slog.DiscardHandler))
	var r *Runner
	im := ingest.New(st, ingest.Options{Hooks: []ingest.Hook{func(_ context.Context, e ingest.Event) {
		if e.Changed() {
			r.Changed()
		}
	}}})
	cfg.Set, cfg.Sched, cfg.Revision, cfg.OutputDir = s.set, s.sched, st.ArticlesRevision, s.out
	cfg.Scan = func(ctx context.Context) error { return im.Scan(ctx, s.content) }
	cfg.OnBuild = func(time.Duration, time.Time, error) { s.mu.Lock(); s.builds++; s.mu.Unlock() }
	if cfg.Schedule == "" {
		cfg.Schedule = "@every 1h"
	}
	if r, err = NewRunner(cfg); err != nil {
		t.Fatal(err)
	}
	s.runner = r
	return s
}

// start builds once and runs the runner and the schedule until the test
// ends.
func (s *runnerSite) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s.runner.Build(ctx)
	s.sched.Start()
	done := make(chan error, 1)
	go func() { done <- s.runner.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := s.sched.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
}

func (s *runnerSite) serves(t *testing.T, path, text string) bool {
	t.Helper()
	body, _, err := s.set.Get(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(body, []byte(text))
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func runnerStory(id, headline string) *article.Article {
	pub := fixedNow.Add(-time.Hour)
	return &article.Article{ID: id, GUID: "urn:test:" + id, Section: "society", Headline: headline, Published: pub, Updated: pub,
		Body: []article.Page{{Number: 1, Paragraphs: []string{"Text."}}}, Status: article.StatusPublished}
}

// The runner builds before serving, writes the output directory, builds
// again as soon as the store changed (Changed, as the importer's hook
// says), scans the content directory before each build, and follows a
// change another replica made (the revision poll) without being told.
func TestRunnerBuildsOnEveryChange(t *testing.T) {
	st := storagetest.SQLite(t)
	seed(t, st, seedArticles())
	s := newRunnerSite(t, st, "", RunnerConfig{PollInterval: 50 * time.Millisecond})
	s.start(t)

	t.Run("first build", func(t *testing.T) {
		if !s.serves(t, "/feeds/society.atom", "Powerhouse in the making") {
			t.Error("the first build does not serve the stored articles")
		}
		b, err := os.ReadFile(filepath.Join(s.out, "feeds", "society.atom"))
		if err != nil || !bytes.Contains(b, []byte("Powerhouse in the making")) {
			t.Errorf("output directory: %v", err)
		}
	})
	t.Run("content directory", func(t *testing.T) {
		md := "---\nid: dropped-in\nsection: society\nheadline: Dropped into the content directory\npublished: 2019-04-30T10:00:00+08:00\n---\nOriginal text.\n"
		if err := os.WriteFile(filepath.Join(s.content, "dropped-in.md"), []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
		s.runner.Build(context.Background()) // as the schedule does
		eventually(t, "the dropped-in file built", func() bool { return s.serves(t, "/feeds/society.atom", "Dropped into the content directory") })
	})
	t.Run("changed here", func(t *testing.T) {
		if _, err := st.PutArticle(context.Background(), runnerStory("told", "Told through Changed"), fixedNow); err != nil {
			t.Fatal(err)
		}
		s.runner.Changed()
		eventually(t, "the change built", func() bool { return s.serves(t, "/feeds/society.rss", "Told through Changed") })
	})
	t.Run("changed on another replica", func(t *testing.T) {
		other, err := storage.Open(context.Background(), "sqlite:"+s.st.(interface{ Path() string }).Path(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if _, err := other.PutArticle(context.Background(), runnerStory("elsewhere", "Pushed through another replica"), fixedNow); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the poll built it", func() bool { return s.serves(t, "/feeds/society.json", "Pushed through another replica") })
	})
	t.Run("builds observed", func(t *testing.T) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.builds < 3 {
			t.Errorf("OnBuild saw %d builds, want at least 3", s.builds)
		}
	})
}

// The first start pings the hub for every feed and records the pings in
// the store; a restart over the same store pings nothing for unchanged
// feeds, and a later change pings only the feeds it changed.
func TestRunnerPingsTheHubOncePerChange(t *testing.T) {
	hub := &hubRecorder{}
	hs := httptest.NewServer(hub)
	defer hs.Close()
	st := storagetest.SQLite(t)
	seed(t, st, seedArticles())
	pub, err := websub.New(hs.URL+"/", websub.Options{Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"/feeds/series/shanghai-70th.atom", "/feeds/series/shanghai-70th.json", "/feeds/series/shanghai-70th.rss",
		"/feeds/society.atom", "/feeds/society.json", "/feeds/society.rss"}
	pinged := func() bool {
		states, err := st.FeedStates(context.Background(), all)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range all {
			if states[p].LastPing.IsZero() {
				return false
			}
		}
		return true
	}
	run := func(t *testing.T) *runnerSite {
		s := newRunnerSite(t, st, hs.URL+"/", RunnerConfig{Hub: pub})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		s.runner.Build(ctx)
		go func() { done <- s.runner.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		return s
	}
	t.Run("first start", func(t *testing.T) {
		run(t)
		eventually(t, "every feed pinged and recorded", pinged)
		if got := hub.take(); !slices.Equal(got, all) {
			t.Errorf("first start pinged %v, want every feed once", got)
		}
	})
	t.Run("restart", func(t *testing.T) {
		s := run(t)
		if _, err := st.PutArticle(context.Background(), runnerStory("hub-test-story", "Ferry timetable changes"), fixedNow); err != nil {
			t.Fatal(err)
		}
		s.runner.Changed()
		want := []string{"/feeds/society.atom", "/feeds/society.json", "/feeds/society.rss"}
		eventually(t, "the society feeds pinged", func() bool { hub.mu.Lock(); defer hub.mu.Unlock(); return len(hub.topics) >= len(want) })
		if got := hub.take(); !slices.Equal(got, want) {
			t.Errorf("after a restart and one change the hub got %v, want the society feeds only", got)
		}
	})
}

// A bad schedule is refused when the runner is made, naming it.
func TestRunnerRefusesABadSchedule(t *testing.T) {
	st := storagetest.SQLite(t)
	b, err := NewBuilder(st, testSpecs(""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewRunner(RunnerConfig{Set: NewSet(b, SetOptions{}), Sched: schedule.New(nil, slog.New(slog.NewTextHandler(io.Discard, nil))),
		Schedule: "every tuesday", Revision: st.ArticlesRevision})
	if err == nil || !strings.Contains(err.Error(), "every tuesday") {
		t.Errorf("NewRunner with a bad schedule: %v", err)
	}
}
