package digest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/syndicated/syndicated/subscribers"
)

// Job is the scheduled making of one series' issues of one cadence. A
// scheduler runs it on Spec under its Name's shared lock (one replica per
// run) and calls RunJob; a run missed while no replica ran is caught up
// at start-up when CatchUp (weekly and daily issues: the issue of the
// missed run; a story run always picks up everything since the last story
// issue anyway).
type Job struct {
	Name    string // "digest-SLUG" (weekly), "digest-daily/SLUG", "digest-story/SLUG"
	Spec    string
	Series  string
	Cadence Cadence
	CatchUp bool
}

// JobName is the scheduler's name of the job making series' issues of
// cadence c. The weekly one keeps the name it always had; the others have
// a "/", which no slug has, so that no two series' jobs share a name.
func JobName(series string, c Cadence) string {
	if c == subscribers.CadenceWeekly {
		return "digest-" + series
	}
	return "digest-" + string(c) + "/" + series
}

// Jobs lists a job per configured series and cadence it offers, with the
// schedule configured for it.
func (s *Service) Jobs() ([]Job, error) {
	var out []Job
	for _, se := range s.cfg.Series {
		for _, c := range se.offer().Cadences {
			spec := se.Schedules[c]
			if spec == "" {
				return nil, fmt.Errorf("digest: series %s: no schedule for its %s issues", se.Slug, c)
			}
			out = append(out, Job{Name: JobName(se.Slug, c), Spec: spec, Series: se.Slug, Cadence: c,
				CatchUp: c != subscribers.CadenceStory})
		}
	}
	return out, nil
}

// RunResult says what a run of a job did.
type RunResult struct {
	Issue   *Issue // the issue made (or found made already); nil when none
	Created bool
	// Why no issue was made: "no new articles", "no recipients", "not yet"
	// (story issues waiting for more stories).
	Skipped string
	Plan    *Plan
}

// RunJob makes the issue a run of j due at time at makes: the week's or
// the day's issue with the articles published up to at, or the story
// issue of the stories since the last one. Nothing new, nobody to send it
// to, or stories that may still be joined by others make no issue
// (RunResult.Skipped says which).
func (s *Service) RunJob(ctx context.Context, j Job, at time.Time) (RunResult, error) {
	var (
		p   *Plan
		err error
	)
	switch j.Cadence {
	case subscribers.CadenceWeekly:
		p, err = s.PlanAt(ctx, j.Series, s.Week(at), time.Time{}, at)
	case subscribers.CadenceDaily:
		p, err = s.PlanDay(ctx, j.Series, at, time.Time{}, at)
	case subscribers.CadenceStory:
		p, err = s.PlanStory(ctx, j.Series, at)
		if errors.Is(err, ErrNotYet) {
			return RunResult{Skipped: "not yet", Plan: p}, nil
		}
	default:
		err = fmt.Errorf("digest: unknown cadence %q", j.Cadence)
	}
	if err != nil {
		return RunResult{}, err
	}
	iss, created, err := s.Create(ctx, p)
	switch {
	case errors.Is(err, ErrNoArticles):
		return RunResult{Skipped: "no new articles", Plan: p}, nil
	case errors.Is(err, ErrNoRecipients):
		return RunResult{Skipped: "no recipients", Plan: p}, nil
	case err != nil:
		return RunResult{}, err
	}
	return RunResult{Issue: iss, Created: created, Plan: p}, nil
}

// MakeDue is RunJob as the daemon runs it: it logs what the run did (an
// issue made at info level; none, and why, at info level too, but at
// debug level for story runs, which look every minute) and returns the
// issue made, nil when there is none, for the caller to wake the senders.
func (s *Service) MakeDue(ctx context.Context, j Job, at time.Time, log *slog.Logger) (*Issue, error) {
	r, err := s.RunJob(ctx, j, at)
	if err != nil {
		return nil, err
	}
	if r.Issue == nil {
		level := slog.LevelInfo
		if j.Cadence == subscribers.CadenceStory {
			level = slog.LevelDebug
		}
		log.Log(ctx, level, "digest: "+r.Skipped+", no issue", "issue", r.Plan.Issue.ID)
		return nil, nil
	}
	if r.Created {
		log.Info("digest issue created", "issue", r.Issue.ID, "articles", len(r.Plan.Articles))
	}
	return r.Issue, nil
}
