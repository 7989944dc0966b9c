package feeds

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/syndicated/syndicated/schedule"
)

// Hub is told the topics (feed URLs) whose documents changed: an external
// WebSub hub (feeds/websub), or a built-in one.
type Hub interface {
	Publish(ctx context.Context, topics ...string) error
}

// RunnerConfig is what a Runner needs. Set, Sched, Schedule and Revision
// are required.
type RunnerConfig struct {
	Set *Set
	// Sched runs the jobs: "feeds" on Schedule (every replica: it fills
	// this replica's memory), "content-scan" (one replica at a time: it
	// writes the shared store) and "feeds-build" (every replica).
	Sched    *schedule.Scheduler
	Schedule string // cron spec of builds (feeds.schedule)
	// Revision reads the store's articles revision, which any change on
	// any replica moves on (article.Store.ArticlesRevision).
	Revision func(ctx context.Context) (int64, error)
	// PollInterval is how often Run reads the revision, so that a change
	// made through another replica is built at once rather than at the
	// next scheduled build; 0 polls never.
	PollInterval time.Duration
	// Scan, when set, imports the content directory before each build.
	// What it changes reaches the Runner through Changed (the importer's
	// hook), like any other change.
	Scan func(ctx context.Context) error
	// OutputDir, when set, gets every document after each build (WriteDir).
	OutputDir string
	// Hub, when set, is told of every changed document after a build.
	Hub Hub
	// OnBuild observes every build (metrics): how long it took, when it
	// ended, and its error.
	OnBuild func(took time.Duration, end time.Time, err error)
	// NextPublication, when set, gives the earliest publication after t
	// among published articles, zero when there is none
	// (article.Store.NextPublication). After each build the runner sets a
	// timer for it, so that a future-dated (embargoed) article is in the
	// feeds when it comes due rather than at the next scheduled build.
	NextPublication func(ctx context.Context, t time.Time) (time.Time, error)
	// Now is the clock the feeds are built by (the Builder's), time.Now
	// when nil; After makes the timer of a publication due in d,
	// time.After when nil.
	Now   func() time.Time
	After func(d time.Duration) <-chan time.Time
	Log   *slog.Logger
}

// Runner keeps a Set built: at start (Build), at every scheduled tick, as
// soon as the store changed (Changed) here or, through the revision poll,
// on another replica, and it tells the hub what changed.
type Runner struct {
	cfg RunnerConfig
	// kick asks for a build soon; capacity 1 so requests made while a
	// build runs collapse into one more build, and none is lost.
	kick  chan struct{}
	pings sync.WaitGroup

	// revMu guards what the revision poll compares against: the store's
	// articles revision read just before the last successful build
	// (builtRev), and the one read by the build under way (buildingRev,
	// while building). The poll asks for a build only when neither is the
	// store's: a change this replica is building already (its own, told
	// through Changed) costs one build, not two, and a build that failed
	// is tried again at the next poll.
	revMu       sync.Mutex
	haveRev     bool
	builtRev    int64
	building    bool
	buildingRev int64

	// dueMu guards due, the next publication after the last build (zero:
	// none); rearm tells Run to set its timer for it again.
	dueMu sync.Mutex
	due   time.Time
	rearm chan struct{}
}

// NewRunner checks cfg and adds the scheduled build to cfg.Sched.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if cfg.Set == nil || cfg.Sched == nil || cfg.Revision == nil {
		return nil, errors.New("feeds: runner: Set, Sched and Revision are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.OnBuild == nil {
		cfg.OnBuild = func(time.Duration, time.Time, error) {}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	r := &Runner{cfg: cfg, kick: make(chan struct{}, 1), rearm: make(chan struct{}, 1)}
	if err := cfg.Sched.AddLocal("feeds", cfg.Schedule, func(context.Context) error {
		r.requestBuild()
		return nil
	}); err != nil {
		return nil, err
	}
	return r, nil
}

// Changed says that the store changed: the cached archive pages go (an
// edit may have withdrawn or back-dated an article) and a build follows
// soon. It is the importer's hook, and never blocks.
func (r *Runner) Changed() {
	r.cfg.Set.Invalidate()
	r.requestBuild()
}

func (r *Runner) requestBuild() {
	select {
	case r.kick <- struct{}{}:
	default: // a build is already queued; it will see this change too
	}
}

// Run builds on every request and when the next future-dated article
// comes due, and polls the revision, until ctx ends; then it waits for the
// hub pings under way.
func (r *Runner) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if every := r.cfg.PollInterval; every > 0 {
		wg.Go(func() { r.poll(ctx, every) })
	}
	var due <-chan time.Time
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-r.kick:
			r.Build(ctx)
		case <-r.rearm:
			due = r.timer()
		case <-due:
			due = nil
			r.cfg.Log.Debug("a future-dated article came due")
			// Its period's archive page changes too.
			r.Changed()
		}
	}
	wg.Wait()
	r.pings.Wait()
	return nil
}

// Build scans the content directory (on one replica), then rebuilds this
// replica's feeds, writes the output directory and tells the hub. serve
// calls it once before it answers requests, so that a reader never sees
// an empty feed from a fresh start.
func (r *Runner) Build(ctx context.Context) {
	if r.cfg.Scan != nil {
		r.cfg.Sched.Run(ctx, "content-scan", r.cfg.Scan)
	}
	r.cfg.Sched.RunLocal(ctx, "feeds-build", func(ctx context.Context) error {
		// The build about to start sees every change announced so far
		// (drained here, not before RunLocal: a call that finds a build
		// under way runs nothing and must leave the request queued).
		select {
		case <-r.kick:
		default:
		}
		start := time.Now()
		err := r.build(ctx)
		r.cfg.OnBuild(time.Since(start), time.Now(), err)
		return err
	})
}

func (r *Runner) build(ctx context.Context) error {
	// Read before building: a change committed after this read moves the
	// revision past rev, and the next poll builds again.
	rev, err := r.cfg.Revision(ctx)
	if err != nil {
		return err
	}
	r.revMu.Lock()
	moved := !r.haveRev || rev != r.builtRev
	r.building, r.buildingRev = true, rev
	r.revMu.Unlock()
	if moved {
		// Cached archive pages may predate a change no one told this
		// replica of (another replica's, seen first by this build).
		r.cfg.Set.Invalidate()
	}
	// Read before building too: an article published between now and the
	// build's own clock is both built and due, which costs one more build
	// and misses none.
	now := r.cfg.Now()
	changes, err := r.cfg.Set.Rebuild(ctx)
	r.revMu.Lock()
	r.building = false
	if err == nil {
		r.haveRev, r.builtRev = true, rev
	}
	r.revMu.Unlock()
	if err != nil {
		return err
	}
	r.nextDue(ctx, now)
	// Written on every build, not only on changes: the first build after
	// a restart reports no change for bytes already announced, and files
	// holding the same bytes are left alone anyway.
	if r.cfg.OutputDir != "" {
		if _, err := r.cfg.Set.WriteDir(ctx, r.cfg.OutputDir); err != nil {
			return err
		}
	}
	if len(changes) == 0 {
		return nil
	}
	r.cfg.Log.Info("feeds rebuilt", "changed", len(changes))
	if r.cfg.Hub != nil {
		// Pings retry with backoff; they do not hold up the next build.
		r.pings.Go(func() { r.publish(ctx, changes) })
	}
	return nil
}

// nextDue records the next publication after now and has Run set its
// timer for it. A failure to read it is logged and keeps the timer set
// before: the build itself succeeded, and its output and hub pings go on.
func (r *Runner) nextDue(ctx context.Context, now time.Time) {
	if r.cfg.NextPublication == nil {
		return
	}
	next, err := r.cfg.NextPublication(ctx, now)
	if err != nil {
		if ctx.Err() == nil {
			r.cfg.Log.Warn("next publication time", "err", err)
		}
		return
	}
	r.dueMu.Lock()
	r.due = next
	r.dueMu.Unlock()
	select {
	case r.rearm <- struct{}{}:
	default: // Run has yet to read the previous one: it reads r.due then
	}
}

// timer fires when the next publication is due; nil when none is.
func (r *Runner) timer() <-chan time.Time {
	r.dueMu.Lock()
	due := r.due
	r.dueMu.Unlock()
	if due.IsZero() {
		return nil
	}
	return r.cfg.After(due.Sub(r.cfg.Now()))
}

// publish tells the hub of each change and records it, so that a restart
// does not announce the same bytes again.
func (r *Runner) publish(ctx context.Context, changes []Change) {
	for _, ch := range changes {
		if err := r.cfg.Hub.Publish(ctx, ch.URL); err != nil {
			r.cfg.Log.Warn("websub publish", "err", err)
			continue
		}
		if err := r.cfg.Set.MarkPublished(ctx, []Change{ch}, time.Now()); err != nil {
			r.cfg.Log.Warn("websub publish", "err", err)
		}
	}
}

// poll reads the store's articles revision every interval until ctx ends.
// Another replica's API push or withdrawal, or its content scan, moves the
// revision in the shared database; this replica then drops its cached
// archives and builds at once. Changes made through this replica are built
// already, or being built: each build records the revision it started from.
func (r *Runner) poll(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.pollOnce(ctx)
		}
	}
}

func (r *Runner) pollOnce(ctx context.Context) {
	rev, err := r.cfg.Revision(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.cfg.Log.Warn("articles revision", "err", err)
		}
		return
	}
	r.revMu.Lock()
	stale := (!r.haveRev || rev != r.builtRev) && (!r.building || rev != r.buildingRev)
	r.revMu.Unlock()
	if stale {
		r.cfg.Log.Debug("articles changed in the store", "revision", rev)
		r.cfg.Set.Invalidate()
		r.requestBuild() // collapses with one already queued
	}
}
