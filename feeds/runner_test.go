package feeds

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
	failed  int // builds that returned an error
}

func newRunnerSite(t *testing.T, st storage.Storage, hubURL string, cfg RunnerConfig) *runnerSite {
	t.Helper()
	now := cfg.Now
	if now == nil {
		now = func() time.Time { return fixedNow }
	}
	b, err := NewBuilder(st, testSpecs(hubURL), Options{Now: now})
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
	cfg.OnBuild = func(_ time.Duration, _ time.Time, err error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.builds++
		if err != nil {
			s.failed++
		}
	}
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

// counts returns how many builds ended, and how many of them failed.
func (s *runnerSite) counts() (builds, failed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.builds, s.failed
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

// stallingStore is a store as a loaded database serves it: while held,
// every article listing waits until released (a build stays under way as
// long as a test needs), and when told to, the next one fails (a build
// that fails). It counts revision reads, so that a test knows when the
// poll looked.
type stallingStore struct {
	storage.Storage
	mu        sync.Mutex
	hold      chan struct{} // closed on release; nil when not held
	entered   chan struct{} // gets a value when a listing starts waiting
	failNext  bool
	revisions int
	// polls, while a test holds it, keeps revision reads waiting (so that
	// the poll cannot see a write before the test has said Changed).
	polls sync.Mutex
}

func newStallingStore(st storage.Storage) *stallingStore {
	return &stallingStore{Storage: st, entered: make(chan struct{}, 1)}
}

func (s *stallingStore) holdListings() { s.mu.Lock(); s.hold = make(chan struct{}); s.mu.Unlock() }

func (s *stallingStore) release() { s.mu.Lock(); close(s.hold); s.hold = nil; s.mu.Unlock() }

func (s *stallingStore) failNextListing() { s.mu.Lock(); s.failNext = true; s.mu.Unlock() }

func (s *stallingStore) revisionReads() int { s.mu.Lock(); defer s.mu.Unlock(); return s.revisions }

func (s *stallingStore) ListArticles(ctx context.Context, q article.Query) ([]*article.Article, error) {
	s.mu.Lock()
	hold, fail := s.hold, s.failNext
	s.failNext = false
	s.mu.Unlock()
	if fail {
		return nil, errors.New("connection reset by peer")
	}
	if hold != nil {
		select {
		case s.entered <- struct{}{}:
		default:
		}
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.Storage.ListArticles(ctx, q)
}

func (s *stallingStore) ArticlesRevision(ctx context.Context) (int64, error) {
	s.polls.Lock()
	//lint:ignore SA2001 an empty critical section: it waits while a test holds polls
	s.polls.Unlock()
	s.mu.Lock()
	s.revisions++
	s.mu.Unlock()
	return s.Storage.ArticlesRevision(ctx)
}

// pollsSeen waits until the poll has read the revision n more times.
func (s *stallingStore) pollsSeen(t *testing.T, n int) {
	t.Helper()
	want := s.revisionReads() + n
	eventually(t, fmt.Sprintf("%d revision polls", n), func() bool { return s.revisionReads() >= want })
}

// A change made through this replica is built once: the poll, reading the
// new revision while that build is still under way (a slow database), does
// not ask for a second build of the same revision.
func TestRunnerBuildsItsOwnChangeOnce(t *testing.T) {
	st := newStallingStore(storagetest.SQLite(t))
	seed(t, st, seedArticles())
	s := newRunnerSite(t, st, "", RunnerConfig{PollInterval: 10 * time.Millisecond})
	s.start(t)
	st.pollsSeen(t, 3) // nothing changed: the polls build nothing
	before, _ := s.counts()

	st.holdListings()
	// The write and its Changed as one step for the poll: a poll between
	// them would see the write first and build it as another replica's
	// change, and the Changed after it would ask for a second build.
	st.polls.Lock()
	if _, err := st.PutArticle(context.Background(), runnerStory("slow", "Built while the database is slow"), fixedNow); err != nil {
		st.polls.Unlock()
		t.Fatal(err)
	}
	s.runner.Changed() // as the importer's hook does
	st.polls.Unlock()
	select {
	case <-st.entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the change started no build")
	}
	st.pollsSeen(t, 3) // the poll looks while the build waits on the store
	st.release()
	eventually(t, "the change built", func() bool { return s.serves(t, "/feeds/society.atom", "Built while the database is slow") })
	eventually(t, "the build observed", func() bool { n, _ := s.counts(); return n > before })
	st.pollsSeen(t, 3)
	if after, _ := s.counts(); after-before != 1 {
		t.Errorf("one change made here cost %d builds, want 1", after-before)
	}
}

// A build that failed (the database went away for a moment) is tried again
// at the next poll, until one succeeds, even when the change it was for
// came from another replica and the poll had asked for that build itself.
func TestRunnerRetriesAFailedBuild(t *testing.T) {
	st := newStallingStore(storagetest.SQLite(t))
	seed(t, st, seedArticles())
	s := newRunnerSite(t, st, "", RunnerConfig{PollInterval: 10 * time.Millisecond})
	s.start(t)

	st.failNextListing()
	// Written as another replica writes: the store only, no Changed.
	if _, err := st.Storage.PutArticle(context.Background(), runnerStory("after-blip", "Built after a failed build"), fixedNow); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the change built after a failed build", func() bool { return s.serves(t, "/feeds/society.atom", "Built after a failed build") })
	if _, failed := s.counts(); failed != 1 {
		t.Errorf("%d builds failed, want 1 (the one the test broke)", failed)
	}
}

// A build that is the first to see another replica's change drops the
// cached archive pages, as the poll does, so that an edit of an old
// article reaches its month's page with the next scheduled build, even
// when the poll is off or had not looked yet.
func TestRunnerBuildDropsStaleArchivePages(t *testing.T) {
	st := storagetest.SQLite(t)
	arts := dailyArticles(90, time.Date(2019, 1, 10, 8, 0, 0, 0, shanghai)) // to April 9: January is archived
	seed(t, st, arts)
	s := newRunnerSite(t, st, "", RunnerConfig{}) // no poll
	s.start(t)
	page := s.set.b.specs[0].ArchivePath(Atom, month(2019, time.January))
	if !s.serves(t, page, arts[0].Headline) {
		t.Fatalf("%s does not hold %q", page, arts[0].Headline)
	}

	edited := *arts[0]
	edited.Headline, edited.Updated = "Corrected headline of an old story", arts[0].Updated.Add(time.Hour)
	// Written as another replica writes: the store only, no Changed.
	if _, err := st.PutArticle(context.Background(), &edited, fixedNow); err != nil {
		t.Fatal(err)
	}
	s.runner.Build(context.Background()) // as the schedule does
	if !s.serves(t, page, edited.Headline) {
		t.Errorf("%s still serves the old headline after a build that saw the edit", page)
	}
}

// fakeClock is a settable clock whose timers fire when it is moved past
// them.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers map[time.Time][]chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.timers[c.now.Add(d)] = append(c.timers[c.now.Add(d)], ch)
	return ch
}

// set moves the clock to t and fires the timers due by then.
func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	for at, chs := range c.timers {
		if !at.After(t) {
			for _, ch := range chs {
				ch <- t
			}
			delete(c.timers, at)
		}
	}
}

// armed reports whether a timer waits for t.
func (c *fakeClock) armed(t time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers[t]) > 0
}

// A future-dated (embargoed) article is in the feeds when it comes due,
// not at the next scheduled build (hourly here, on the real clock): after
// each build the runner sets a timer for the next publication, and again
// after the build that timer started.
func TestRunnerBuildsAnArticleWhenItComesDue(t *testing.T) {
	st := storagetest.SQLite(t)
	seed(t, st, seedArticles())
	noon, one := fixedNow.Add(time.Hour), fixedNow.Add(2*time.Hour)
	for _, a := range []*article.Article{runnerStory("at-noon", "Embargoed until noon"), runnerStory("at-one", "Embargoed until one")} {
		a.Published = noon
		if a.ID == "at-one" {
			a.Published = one
		}
		if _, err := st.PutArticle(context.Background(), a, fixedNow); err != nil {
			t.Fatal(err)
		}
	}
	clk := &fakeClock{now: fixedNow, timers: map[time.Time][]chan time.Time{}}
	s := newRunnerSite(t, st, "", RunnerConfig{NextPublication: st.NextPublication, Now: clk.Now, After: clk.After})
	s.start(t)
	if s.serves(t, "/feeds/society.atom", "Embargoed until") {
		t.Fatal("an article is served before its publication time")
	}
	eventually(t, "a timer for noon", func() bool { return clk.armed(noon) })

	clk.set(noon.Add(-time.Minute))
	if s.serves(t, "/feeds/society.atom", "Embargoed until noon") {
		t.Error("the article is served a minute early")
	}
	clk.set(noon)
	eventually(t, "the noon article built at noon", func() bool { return s.serves(t, "/feeds/society.atom", "Embargoed until noon") })
	if s.serves(t, "/feeds/society.atom", "Embargoed until one") {
		t.Error("the one o'clock article is served at noon")
	}
	eventually(t, "a timer for one o'clock", func() bool { return clk.armed(one) })
	clk.set(one)
	eventually(t, "the one o'clock article built", func() bool { return s.serves(t, "/feeds/society.atom", "Embargoed until one") })
	// OnBuild is told once the build that served it returns.
	eventually(t, "three builds: the first and one at each publication", func() bool {
		builds, failed := s.counts()
		return builds == 3 && failed == 0
	})
}
