package digest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/syndicated/syndicated/mail"
)

// ErrBreakerOpen is wrapped by the error SendIssue returns when its
// circuit breaker stopped the run.
var ErrBreakerOpen = errors.New("digest: sending stopped")

// BreakerError says why a run stopped: most of its first deliveries failed
// the same way (a relay refusing everything, a server that is down), so
// the rest were left pending rather than failed or bounced one by one.
type BreakerError struct {
	Failed, Tried int
	Reason        string // the shared failure: class, code and reply
	// PausedUntil is set when the run did not start: the issue is left
	// alone until then after an earlier trip.
	PausedUntil time.Time
}

func (e *BreakerError) Error() string {
	s := fmt.Sprintf("%v: %d of the first %d deliveries failed the same way (%s); the rest are left pending",
		ErrBreakerOpen, e.Failed, e.Tried, e.Reason)
	if !e.PausedUntil.IsZero() {
		s += fmt.Sprintf(" (paused until %s)", e.PausedUntil.UTC().Format(time.RFC3339))
	}
	return s
}

func (e *BreakerError) Unwrap() error { return ErrBreakerOpen }

// run is one SendIssue's failure tally: the circuit breaker and the
// per-batch warning. It travels in the run's context.
type run struct {
	mu      sync.Mutex
	tried   int
	byKey   map[string]int
	batch   map[string]int // failures of the current batch by key
	tripped *BreakerError
	stop    context.CancelCauseFunc
	issue   string
}

type runKey struct{}

// pauses are the issues whose breaker tripped, and until when they are
// left alone.
type pauses struct {
	mu    sync.Mutex
	until map[string]pause
}

type pause struct {
	until time.Time
	why   *BreakerError
}

// startRun gives SendIssue a context that ends when the breaker trips, or
// that has ended already while the issue is paused by an earlier trip.
func (s *Sender) startRun(ctx context.Context, iss *Issue) (context.Context, *run) {
	ctx, cancel := context.WithCancelCause(ctx)
	r := &run{byKey: map[string]int{}, batch: map[string]int{}, stop: cancel, issue: iss.ID}
	p := s.cfg.Faults.paused
	p.mu.Lock()
	defer p.mu.Unlock()
	if ps, ok := p.until[iss.ID]; ok {
		if s.cfg.Now().Before(ps.until) {
			r.tripped = &BreakerError{Failed: ps.why.Failed, Tried: ps.why.Tried, Reason: ps.why.Reason, PausedUntil: ps.until}
			cancel(r.tripped)
		} else {
			delete(p.until, iss.ID)
		}
	}
	return context.WithValue(ctx, runKey{}, r), r
}

// failureKey groups failures that are "the same": the class, the code and
// the server's reply (or the network error).
func failureKey(class mail.Class, err error) string {
	var e *mail.Error
	if !errors.As(err, &e) {
		return string(class) + ": " + err.Error()
	}
	k := string(class) + " at " + e.Op
	switch {
	case e.Reply != "":
		k += ": " + e.Reply
	case e.Code != 0:
		k += ": " + strconv.Itoa(e.Code)
	}
	return k
}

// observe counts one send's result (class "" for sent) and trips the
// breaker when the run's failures of one kind reach BreakerMin and
// BreakerRatio of what it tried.
func (s *Sender) observe(ctx context.Context, class mail.Class, err error) {
	r, ok := ctx.Value(runKey{}).(*run)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tried++
	if class == "" {
		return
	}
	k := failureKey(class, err)
	r.byKey[k]++
	r.batch[k]++
	f := s.cfg.Faults
	if r.tripped == nil && f.BreakerMin > 0 && r.byKey[k] >= f.BreakerMin && float64(r.byKey[k]) >= f.BreakerRatio*float64(r.tried) {
		r.tripped = &BreakerError{Failed: r.byKey[k], Tried: r.tried, Reason: k}
		r.stop(r.tripped)
		p := f.paused
		p.mu.Lock()
		p.until[r.issue] = pause{until: s.cfg.Now().Add(f.BreakerPause), why: r.tripped}
		p.mu.Unlock()
		s.cfg.Log.Warn("digest: sending stopped (circuit breaker)", "issue", r.issue, "failed", r.byKey[k], "tried", r.tried,
			"reason", k, "paused_for", f.BreakerPause)
	}
}

// batchDone logs one warning for a batch that had failures: how many, and
// the commonest reason (a refused connection says so).
func (s *Sender) batchDone(ctx context.Context, iss *Issue) {
	r, ok := ctx.Value(runKey{}).(*run)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n, top, topN := 0, "", 0
	for k, c := range r.batch {
		n += c
		if c > topN || (c == topN && k < top) {
			top, topN = k, c
		}
	}
	clear(r.batch)
	if n > 0 {
		s.cfg.Log.Warn("digest: deliveries failed in this batch", "issue", iss.ID, "failed", n, "reason", top)
	}
}

// err is what SendIssue returns once its context ended: the breaker's
// error when it tripped.
func (r *run) err(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tripped != nil {
		return r.tripped
	}
	return ctx.Err()
}
