package schedule

import (
	"context"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// Missed returns the latest time spec (standard 5-field cron, CRON_TZ=
// honoured) fired in (now-grace, now]: a run that should have happened
// lately. ok is false when there is none, or grace is not positive.
func Missed(spec string, now time.Time, grace time.Duration) (at time.Time, ok bool, err error) {
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("schedule %q: %w", spec, err)
	}
	if grace <= 0 {
		return time.Time{}, false, nil
	}
	// Next is strictly after its argument; step from just before the
	// window's start. A schedule firing more often than every second is
	// not a cron schedule, so the loop is bounded by the window.
	for t := sched.Next(now.Add(-grace)); !t.IsZero() && !t.After(now); t = sched.Next(t) {
		at, ok = t, true
	}
	return at, ok, nil
}

// CatchUp runs job for the latest run of spec missed within grace before
// now (see Missed), under the shared lock like a scheduled run, and
// reports whether it ran; job is given the time the run was due, so that
// it can do what that run would have done. A job that is idempotent for
// one due time (a digest issue per ISO week) is then never done twice,
// however often the daemon starts.
func (s *Scheduler) CatchUp(ctx context.Context, name, spec string, now time.Time, grace time.Duration, job func(ctx context.Context, due time.Time) error) (bool, error) {
	due, ok, err := Missed(spec, now, grace)
	if err != nil || !ok {
		return false, err
	}
	s.log.Info("catching up a scheduled run", "job", name, "due", due, "late", now.Sub(due).Round(time.Second))
	return s.Run(ctx, name, func(ctx context.Context) error { return job(ctx, due) }), nil
}
