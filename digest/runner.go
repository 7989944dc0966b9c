package digest

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/syndicated/syndicated/schedule"
)

// DefaultPoll is how often a Runner's delivery workers look for due
// deliveries (retries, issues created on another replica).
const DefaultPoll = time.Minute

// Schedule is when one series' issue is created: a cron spec
// (CRON_TZ= honoured), the series' digest_schedule.
type Schedule struct {
	Series string
	Spec   string
}

// RunnerConfig is what a Runner needs. Service, Sender and Sched are
// required.
type RunnerConfig struct {
	Service *Service
	Sender  *Sender
	// Sched runs the job "digest-SERIES" of each Schedule, under the
	// shared lock: one replica creates each issue.
	Sched     *schedule.Scheduler
	Schedules []Schedule
	// CatchUp is how late a missed scheduled run is still made up at
	// start (digest.catch_up); 0 makes up none.
	CatchUp time.Duration
	Poll    time.Duration // default DefaultPoll
	Log     *slog.Logger
}

// Runner is the digest part of the daemon: each series' issue created on
// its schedule (on one replica), the runs missed while no replica ran made
// up at start, and delivery workers (on every replica) that send every
// unfinished issue.
type Runner struct {
	cfg  RunnerConfig
	kick chan struct{}
}

// NewRunner checks cfg and adds each series' job to cfg.Sched.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if cfg.Service == nil || cfg.Sender == nil || cfg.Sched == nil {
		return nil, errors.New("digest: runner: Service, Sender and Sched are required")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	r := &Runner{cfg: cfg, kick: make(chan struct{}, 1)}
	for _, s := range cfg.Schedules {
		if err := cfg.Sched.Add(jobName(s.Series), s.Spec, func(ctx context.Context) error {
			return r.CreateIssue(ctx, s.Series, cfg.Service.Now())
		}); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func jobName(series string) string { return "digest-" + series }

// CreateIssue creates the issue of series due at time at (the issue of
// the week at falls in, with the articles published up to then) and wakes
// the delivery workers. No new articles or no active subscribers: no
// issue, and no error.
func (r *Runner) CreateIssue(ctx context.Context, series string, at time.Time) error {
	svc, log := r.cfg.Service, r.cfg.Log
	p, err := svc.PlanAt(ctx, series, svc.Week(at), time.Time{}, at)
	if err != nil {
		return err
	}
	iss, created, err := svc.Create(ctx, p)
	if errors.Is(err, ErrNoArticles) {
		log.Info("digest: no new articles, no issue", "issue", p.Issue.ID)
		return nil
	}
	if errors.Is(err, ErrNoRecipients) {
		log.Info("digest: no active subscribers, no issue", "issue", p.Issue.ID)
		return nil
	}
	if err != nil {
		return err
	}
	if created {
		log.Info("digest issue created", "issue", iss.ID, "articles", len(p.Articles))
	}
	select {
	case r.kick <- struct{}{}:
	default:
	}
	return nil
}

// CatchUp creates, for each series, the issue whose scheduled run was
// missed while no replica ran, if it was due less than CatchUp before now.
// It does what that run would have done, under the same shared lock; an
// issue that exists is left as it is, so starting again creates and sends
// nothing more.
func (r *Runner) CatchUp(ctx context.Context, now time.Time) {
	for _, s := range r.cfg.Schedules {
		name := jobName(s.Series)
		if _, err := r.cfg.Sched.CatchUp(ctx, name, s.Spec, now, r.cfg.CatchUp,
			func(ctx context.Context, due time.Time) error { return r.CreateIssue(ctx, s.Series, due) }); err != nil {
			r.cfg.Log.Warn("digest catch-up", "job", name, "err", err)
		}
	}
}

// Run makes up the runs missed while the daemon was down, so that the
// workers send them at once, then sends every unfinished issue: at once
// (resuming one a stopped process left), on every new issue, and every
// Poll, until ctx ends. Sends in flight then finish and are recorded; the
// rest of this replica's claims are handed back.
func (r *Runner) Run(ctx context.Context) error {
	r.CatchUp(ctx, r.cfg.Service.Now())
	t := time.NewTicker(r.cfg.Poll)
	defer t.Stop()
	for {
		if err := r.cfg.Sender.Resume(ctx); err != nil && ctx.Err() == nil {
			r.cfg.Log.Warn("digest delivery", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.kick:
		case <-t.C:
		}
	}
}
