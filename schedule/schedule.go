// Package schedule runs named jobs on cron specs (robfig/cron v3, CRON_TZ
// honoured). A job never overlaps itself, a panic in it is recovered and
// logged, and where several replicas share one database a Locker makes each
// run happen on exactly one of them.
package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Locker grants a named lock to one replica at a time.
type Locker interface {
	TryLock(ctx context.Context, name string) (release func(), ok bool, err error)
}

// Job is one unit of scheduled work.
type Job func(ctx context.Context) error

// Scheduler owns the cron runner and the jobs registered on it.
type Scheduler struct {
	cron   *cron.Cron
	locker Locker
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	running map[string]bool
	stopped bool // set by Stop: no run starts after it
	wg      sync.WaitGroup
	// OnRun, when set, observes every finished run (metrics).
	OnRun func(name string, took time.Duration, err error)
}

// New returns a Scheduler; locker may be nil on a single box.
func New(locker Locker, log *slog.Logger) *Scheduler {
	ctx, cancel := context.WithCancel(context.Background())
	return &Scheduler{
		cron:    cron.New(),
		locker:  locker,
		log:     log,
		ctx:     ctx,
		cancel:  cancel,
		running: map[string]bool{},
	}
}

// Add registers job under name on spec (standard 5-field cron, with
// optional CRON_TZ= prefix); each run takes the shared lock, so it happens
// on one replica.
func (s *Scheduler) Add(name, spec string, job Job) error {
	return s.add(name, spec, job, true)
}

// AddLocal is Add for work every replica must do itself (filling its own
// memory): runs still never overlap here, but take no shared lock.
func (s *Scheduler) AddLocal(name, spec string, job Job) error {
	return s.add(name, spec, job, false)
}

func (s *Scheduler) add(name, spec string, job Job, shared bool) error {
	if _, err := s.cron.AddFunc(spec, func() { s.run(s.ctx, name, job, shared) }); err != nil {
		return fmt.Errorf("schedule %s %q: %w", name, spec, err)
	}
	return nil
}

// Run runs job now unless a run of the same name is already going (here,
// or on another replica holding its lock) or the scheduler is stopped. It
// reports whether it ran.
func (s *Scheduler) Run(ctx context.Context, name string, job Job) (ran bool) {
	return s.run(ctx, name, job, true)
}

// RunLocal runs job now unless a run of the same name is going here; it
// takes no shared lock.
func (s *Scheduler) RunLocal(ctx context.Context, name string, job Job) (ran bool) {
	return s.run(ctx, name, job, false)
}

func (s *Scheduler) run(ctx context.Context, name string, job Job, shared bool) (ran bool) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		s.log.Debug("scheduler stopped, not running", "job", name)
		return false
	}
	if s.running[name] {
		s.mu.Unlock()
		s.log.Debug("job still running, skipping this tick", "job", name)
		return false
	}
	s.running[name] = true
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, name)
		s.mu.Unlock()
		s.wg.Done()
	}()

	if shared && s.locker != nil {
		release, ok, err := s.locker.TryLock(ctx, "job:"+name)
		if err != nil {
			s.log.Error("job lock", "job", name, "err", err)
			return false
		}
		if !ok {
			s.log.Debug("job runs on another replica", "job", name)
			return false
		}
		defer release()
	}

	start := time.Now()
	err := s.safeRun(ctx, name, job)
	took := time.Since(start)
	if err != nil {
		s.log.Error("job failed", "job", name, "took", took, "err", err)
	} else {
		s.log.Debug("job done", "job", name, "took", took)
	}
	if s.OnRun != nil {
		s.OnRun(name, took, err)
	}
	return true
}

func (s *Scheduler) safeRun(ctx context.Context, name string, job Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("job %s panicked: %v\n%s", name, p, debug.Stack())
		}
	}()
	return job(ctx)
}

// Start begins firing jobs on their schedules.
func (s *Scheduler) Start() { s.cron.Start() }

// Stop stops firing new runs, cancels the context of running ones, and
// waits for them to return or for ctx to end. Run and RunLocal run
// nothing once Stop was called.
func (s *Scheduler) Stop(ctx context.Context) error {
	stopped := s.cron.Stop()
	// A Run called from elsewhere (a build loop) after this point does not
	// start, so the WaitGroup is never added to while Stop waits on it.
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.cancel()
	done := make(chan struct{})
	go func() {
		<-stopped.Done()
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("schedule stop: %w", ctx.Err())
	}
}
