package digest_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/schedule"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) Send(context.Context, *mail.Message) error { c.n.Add(1); return nil }

// weeklySpec is the default digest schedule: Mondays 09:00 in Shanghai.
const weeklySpec = "CRON_TZ=Asia/Shanghai 0 9 * * MON"

// runner is a Runner over f as serve wires one: the service's jobs (the
// weekly one on weeklySpec when f's series has no schedules), the default
// day to catch up, a sender on tr.
func (f *fixture) runner(t *testing.T, st storage.Storage, tr mail.Transport) *digest.Runner {
	t.Helper()
	dg := f.dg
	if f.cfg.Series[0].Schedules == nil {
		cfg := f.cfg
		cfg.Series = slices.Clone(cfg.Series)
		cfg.Series[0].Schedules = map[digest.Cadence]string{weekly: weeklySpec}
		var err error
		if dg, err = digest.New(cfg); err != nil {
			t.Fatal(err)
		}
	}
	r, err := digest.NewRunner(digest.RunnerConfig{Service: dg, Sender: f.sender(tr, st, "runner"),
		Sched: schedule.New(st, slog.New(slog.DiscardHandler)), CatchUp: 24 * time.Hour, Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runnerJob is r's job of cadence c.
func runnerJob(t *testing.T, r *digest.Runner, c digest.Cadence) digest.Job {
	t.Helper()
	for _, j := range r.Jobs() {
		if j.Cadence == c {
			return j
		}
	}
	t.Fatalf("no %s job among %+v", c, r.Jobs())
	return digest.Job{}
}

// The daemon was down on Monday 29 April 2019, 09:00 Shanghai, when the
// weekly digest was due. Started at 10:30 it creates that issue (with the
// stories published up to 09:00) and sends it; started again, it creates
// and sends nothing more. Started 25 hours after the run was due (past a
// catch-up of 24 hours), it creates nothing.
func TestRunnerCatchesUpAMissedDigestOnce(t *testing.T) {
	st := storagetest.SQLite(t)
	f := newFixture(t, st, "https://news.example.com")
	f.seedArticles(t)
	readers := []string{"li@example.com", "wang@example.com"}
	for _, e := range readers {
		f.subscribe(t, e)
	}
	due := now0
	tr := &countingTransport{}
	stored := func(f *fixture) *digest.Plan {
		p, err := f.dg.Stored(context.Background(), series, digest.WeekOf(due, newsroom))
		if err != nil {
			return nil
		}
		return p
	}

	t.Run("started 90 minutes late", func(t *testing.T) {
		f.clock.Add(90 * time.Minute)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- f.runner(t, st, tr).Run(ctx) }()
		deadline := time.Now().Add(20 * time.Second)
		for p := stored(f); (p == nil || p.Issue.Status != digest.IssueSent) && time.Now().Before(deadline); p = stored(f) {
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		p := stored(f)
		if p == nil {
			t.Fatal("no issue for the run missed at 09:00")
		}
		if p.Issue.ID != "shanghai-70th/2019-W18" || !p.Issue.Until.Equal(due) || len(p.Articles) == 0 || p.Issue.Status != digest.IssueSent {
			t.Errorf("issue %s (%s) until %v with %d articles, want 2019-W18 until the 09:00 run, sent", p.Issue.ID, p.Issue.Status, p.Issue.Until, len(p.Articles))
		}
		for _, a := range p.Articles {
			if a.Published.After(due) {
				t.Errorf("%s published at %v, after the missed run", a.ID, a.Published)
			}
		}
		if n := tr.n.Load(); n != int32(len(readers)) {
			t.Errorf("%d emails, want %d", n, len(readers))
		}
	})
	t.Run("started again", func(t *testing.T) {
		first := stored(f)
		f.clock.Add(45 * time.Minute)
		r := f.runner(t, st, tr)
		r.CatchUp(t.Context(), f.clock.Now())
		if p := stored(f); p == nil || !p.Issue.CreatedAt.Equal(first.Issue.CreatedAt) {
			t.Fatalf("issue %+v, want the first one unchanged", p)
		}
		counts, err := st.DeliveryCounts(t.Context(), first.Issue.ID)
		if err != nil || counts[digest.StateSent] != len(readers) || counts[digest.StatePending] != 0 {
			t.Errorf("deliveries %v, %v; want every reader's sent, none pending", counts, err)
		}
	})
	t.Run("started 25 hours late", func(t *testing.T) {
		late := storagetest.SQLite(t)
		lf := newFixture(t, late, "https://news.example.com")
		lf.seedArticles(t)
		lf.subscribe(t, readers[0])
		lf.clock.Add(25 * time.Hour)
		lf.runner(t, late, tr).CatchUp(t.Context(), lf.clock.Now())
		if p := stored(lf); p != nil {
			t.Errorf("issue %s created", p.Issue.ID)
		}
	})
}

// A series that offers every cadence has a job for each; started 90
// minutes after Monday's weekly run was due (and Sunday's daily run at
// 18:00), the runner makes up the weekly and the daily issue, each for its
// readers, and no story issue: a story run, every minute, picks up every
// story since the last one anyway.
func TestRunnerCatchesUpEveryCadence(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f := newCadenceFixture(t, st, "https://news.example.com")
		f.put(t, story("sat", at(27, 10, 0)))
		f.put(t, story("sun", at(28, 10, 0)))
		readers := map[digest.Cadence]*subscribers.Subscriber{weekly: f.subscribe(t, "weekly@example.com"),
			daily: f.subscribe(t, "daily@example.com"), storyC: f.subscribe(t, "story@example.com")}
		for _, c := range []digest.Cadence{daily, storyC} {
			if err := st.SetCadence(t.Context(), readers[c].ID, series, weekly, c, now0.Add(-30*24*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		f.clock.Add(90 * time.Minute)
		r := f.runner(t, st, &countingTransport{})
		var names []string
		for _, j := range r.Jobs() {
			names = append(names, fmt.Sprintf("%s catch-up:%v", j.Name, j.CatchUp))
		}
		if want := []string{"digest-shanghai-70th catch-up:true", "digest-daily/shanghai-70th catch-up:true",
			"digest-story/shanghai-70th catch-up:false"}; !slices.Equal(names, want) {
			t.Errorf("jobs %q, want %q", names, want)
		}
		r.CatchUp(t.Context(), f.clock.Now())
		issues, err := st.ListIssues(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, iss := range issues {
			counts, err := st.DeliveryCounts(t.Context(), iss.ID)
			if err != nil {
				t.Fatal(err)
			}
			got[iss.ID] = counts[digest.StatePending]
		}
		// One reader each: the weekly reader the week's issue, the daily
		// reader Sunday's.
		if want := map[string]int{series + "/2019-W18": 1, series + "/2019-04-28": 1}; !maps.Equal(got, want) {
			t.Errorf("issues and their recipients %v, want %v", got, want)
		}
	})
}

// A scheduled run creates the issue due then, and only once whatever the
// number of runs; with no new articles or no subscribers it creates none.
func TestRunnerMakeDue(t *testing.T) {
	st := storagetest.SQLite(t)
	f := newFixture(t, st, "https://news.example.com")
	r := f.runner(t, st, &countingTransport{})
	job := runnerJob(t, r, weekly)
	if job.Name != "digest-"+series || job.Spec != weeklySpec || !job.CatchUp {
		t.Errorf("weekly job %+v, want digest-%s on %q, caught up", job, series, weeklySpec)
	}
	ctx := t.Context()
	steps := []struct {
		name    string
		prepare func(t *testing.T)
		want    int // issues stored after the step
	}{
		{"no articles", func(*testing.T) {}, 0},
		{"no subscribers", func(t *testing.T) { f.seedArticles(t) }, 0},
		{"due", func(t *testing.T) { f.subscribe(t, "reader@example.com") }, 1},
		{"due again", func(*testing.T) {}, 1},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.prepare(t)
			if err := r.MakeDue(ctx, job, now0); err != nil {
				t.Fatal(err)
			}
			issues, err := st.ListIssues(ctx, "")
			if err != nil || len(issues) != s.want {
				t.Fatalf("%d issues (%v), want %d", len(issues), err, s.want)
			}
			if s.want == 1 && (issues[0].ID != "shanghai-70th/2019-W18" || !issues[0].Until.Equal(now0)) {
				t.Errorf("issue %s until %v", issues[0].ID, issues[0].Until)
			}
		})
	}
}
