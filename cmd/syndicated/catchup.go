package main

import (
	"context"
	"time"
)

// catchUp creates, for each series, the digest issue whose scheduled run
// was missed while no replica ran, if it was due less than digest.catch_up
// before now. It does what that run would have done (the issue of the
// week it was due, with the articles published up to then), under the
// same shared lock; an issue that exists is left as it is, so starting
// again creates and sends nothing more.
func (dd *daemonDigest) catchUp(ctx context.Context, now time.Time) {
	a := dd.d.a
	jobs, err := dd.svc.Jobs()
	if err != nil {
		a.log.Warn("digest catch-up", "err", err)
		return
	}
	for _, j := range jobs {
		if !j.CatchUp {
			continue
		}
		if _, err := dd.d.sched.CatchUp(ctx, j.Name, j.Spec, now, a.cfg.Digest.CatchUp.Duration,
			func(ctx context.Context, due time.Time) error { return dd.runJob(ctx, j, due) }); err != nil {
			a.log.Warn("digest catch-up", "job", j.Name, "err", err)
		}
	}
}
