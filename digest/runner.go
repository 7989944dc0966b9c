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

// RunnerConfig is what a Runner needs. Service, Sender and Sched are
// required.
type RunnerConfig struct {
	// Service gives the jobs (Service.Jobs: one per series and cadence it
	// offers, on its schedule) and makes their issues.
	Service *Service
	Sender  *Sender
	// Sched runs each job under its name's shared lock: one replica makes
	// each issue.
	Sched *schedule.Scheduler
	// CatchUp is how late a missed scheduled run of a job with CatchUp set
	// (weekly and daily issues) is still made up at start
	// (digest.catch_up); 0 makes up none.
	CatchUp time.Duration
	Poll    time.Duration // default DefaultPoll
	Log     *slog.Logger
}

// Runner is the digest part of the daemon: each series' issues of each
// cadence made on their schedules (on one replica), the runs missed while
// no replica ran made up at start, and delivery workers (on every replica)
// that send every unfinished issue.
type Runner struct {
	cfg  RunnerConfig
	jobs []Job
	kick chan struct{}
}

// NewRunner checks cfg and adds each of the service's jobs to cfg.Sched.
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
	jobs, err := cfg.Service.Jobs()
	if err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg, jobs: jobs, kick: make(chan struct{}, 1)}
	for _, j := range jobs {
		if err := cfg.Sched.Add(j.Name, j.Spec, func(ctx context.Context) error {
			return r.MakeDue(ctx, j, cfg.Service.Now())
		}); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Jobs are the jobs the runner scheduled.
func (r *Runner) Jobs() []Job { return r.jobs }

// MakeDue makes the issue a run of j due at time at makes (see
// Service.MakeDue) and wakes the delivery workers when there is one.
// Nothing new, nobody to send it to, or stories still waiting for others:
// no issue, and no error.
func (r *Runner) MakeDue(ctx context.Context, j Job, at time.Time) error {
	iss, err := r.cfg.Service.MakeDue(ctx, j, at, r.cfg.Log)
	if err != nil || iss == nil {
		return err
	}
	select {
	case r.kick <- struct{}{}:
	default:
	}
	return nil
}

// CatchUp makes, for each job with CatchUp set, the issue whose scheduled
// run was missed while no replica ran, if it was due less than
// RunnerConfig.CatchUp before now. It does what that run would have done,
// under the same shared lock; an issue that exists is left as it is, so
// starting again creates and sends nothing more. (A story job's next run
// picks up every story since the last story issue anyway.)
func (r *Runner) CatchUp(ctx context.Context, now time.Time) {
	for _, j := range r.jobs {
		if !j.CatchUp {
			continue
		}
		if _, err := r.cfg.Sched.CatchUp(ctx, j.Name, j.Spec, now, r.cfg.CatchUp,
			func(ctx context.Context, due time.Time) error { return r.MakeDue(ctx, j, due) }); err != nil {
			r.cfg.Log.Warn("digest catch-up", "job", j.Name, "err", err)
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
