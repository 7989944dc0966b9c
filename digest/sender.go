package digest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/subscribers"
)

// Result labels what happened to one delivery attempt (the metric's
// result label).
const (
	ResultSent    = "sent"
	ResultRetry   = "retry"   // temporary failure, tried again later
	ResultFailed  = "failed"  // permanent failure or out of attempts
	ResultBounced = "bounced" // recipient rejected: failed, subscriber bounced
	ResultSkipped = "skipped" // unsubscribed before it was sent
)

// SubscriberGetter loads a subscriber as it is now.
type SubscriberGetter interface {
	GetSubscriberByID(ctx context.Context, id int64) (*subscribers.Subscriber, error)
}

// SenderConfig is what a Sender needs. Zero values get the defaults noted.
type SenderConfig struct {
	Store       Store
	Subscribers SubscriberGetter
	// Compose renders the issue for one subscriber (Service.Compose).
	Compose   func(ctx context.Context, iss *Issue, sub *subscribers.Subscriber) (*mail.Message, error)
	Transport mail.Transport
	Limiter   *rate.Limiter // nil: no limit
	Workers   int           // concurrent sends; default 4
	Batch     int           // deliveries claimed at once; default 4 × Workers
	// Lease is how long a claim holds before another worker may take the
	// delivery over; it must outlast a batch. Default 10 minutes.
	Lease       time.Duration
	MaxAttempts int                             // default 30 (Faults.MaxRetryAge usually ends retries first)
	Backoff     func(attempt int) time.Duration // default 1 min doubling to 1 h
	// SendTimeout bounds a send that was in flight at shutdown (it is let
	// finish so that its outcome is recorded). Default 1 minute.
	SendTimeout time.Duration
	Worker      string // claim owner; default host-pid-random
	Now         func() time.Time
	Log         *slog.Logger
	OnResult    func(result string)
	Faults      Faults // retry age, maybe-delivered delay, circuit breaker
}

// Sender delivers issues from the outbox.
type Sender struct{ cfg SenderConfig }

// NewSender fills in defaults.
func NewSender(cfg SenderConfig) *Sender {
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 4 * cfg.Workers
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 10 * time.Minute
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 30
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = time.Minute
	}
	if cfg.Worker == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		cfg.Worker = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.OnResult == nil {
		cfg.OnResult = func(string) {}
	}
	cfg.Faults = cfg.Faults.withDefaults()
	return &Sender{cfg: cfg}
}

// DefaultBackoff waits 1, 2, 4 … minutes after each failed attempt, at most
// an hour.
func DefaultBackoff(attempt int) time.Duration {
	d := time.Minute << min(max(attempt-1, 0), 6)
	return min(d, time.Hour)
}

// Report counts what one SendIssue did.
type Report struct {
	Sent, Retry, Failed, Bounced, Skipped int
	// Released counts claims handed back at shutdown.
	Released int
	// Finished: no delivery is left (the issue is marked sent).
	Finished bool
}

func (r *Report) add(result string) {
	switch result {
	case ResultSent:
		r.Sent++
	case ResultRetry:
		r.Retry++
	case ResultFailed:
		r.Failed++
	case ResultBounced:
		r.Bounced++
	case ResultSkipped:
		r.Skipped++
	}
}

// SendIssue claims and sends the issue's due deliveries until none is due
// now, then marks the issue sent if nothing is left (retries wait for a
// later call). When ctx ends it stops claiming, lets sends in flight finish
// and record, and hands back the rest of its claims.
func (s *Sender) SendIssue(ctx context.Context, iss *Issue, progress func(r Report)) (Report, error) {
	var (
		rep Report
		mu  sync.Mutex
	)
	ctx, run := s.startRun(ctx, iss) // stops the run when the breaker trips
	for ctx.Err() == nil {
		batch, err := s.claim(ctx, iss)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return rep, err
		}
		if len(batch) == 0 {
			break
		}
		jobs := make(chan Delivery)
		var wg sync.WaitGroup
		for range min(s.cfg.Workers, len(batch)) {
			wg.Go(func() {
				for d := range jobs {
					result := s.deliver(ctx, iss, d)
					if result == "" {
						continue // not started: handed back below
					}
					s.cfg.OnResult(result)
					mu.Lock()
					rep.add(result)
					if progress != nil {
						progress(rep)
					}
					mu.Unlock()
				}
			})
		}
		for _, d := range batch {
			jobs <- d
		}
		close(jobs)
		wg.Wait()
		s.batchDone(ctx, iss)
	}
	bg := context.WithoutCancel(ctx)
	if ctx.Err() != nil {
		n, err := s.cfg.Store.ReleaseDeliveries(bg, iss.ID, s.cfg.Worker, s.cfg.Now())
		rep.Released = n
		if err != nil {
			return rep, err
		}
		return rep, run.err(ctx)
	}
	done, err := s.cfg.Store.FinishIssue(bg, iss.ID, s.cfg.Now())
	rep.Finished = done
	return rep, err
}

// claim is the first stage: a batch of due deliveries leased to this
// worker (recorded as sending before any SMTP transaction).
func (s *Sender) claim(ctx context.Context, iss *Issue) ([]Delivery, error) {
	return s.cfg.Store.ClaimDeliveries(ctx, iss.ID, s.cfg.Worker, s.cfg.Batch, s.cfg.Now(), s.cfg.Lease)
}

// deliver runs one claimed delivery through skip → render → rate limit →
// send → record and returns its result, or "" when ctx ended before the
// send began (the claim is handed back).
func (s *Sender) deliver(ctx context.Context, iss *Issue, d Delivery) string {
	if ctx.Err() != nil {
		return ""
	}
	bg := context.WithoutCancel(ctx)
	sub, reason, err := s.skip(ctx, iss, d)
	var msg *mail.Message
	if err == nil && reason == "" {
		msg, err = s.cfg.Compose(ctx, iss, sub)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ""
		}
		// Our own failure (database, template): retry later like a
		// temporary send failure.
		s.cfg.Log.Warn("digest: prepare delivery", "issue", iss.ID, "subscriber", d.SubscriberID, "err", err)
		return s.record(bg, iss, d, s.retryOutcome(bg, iss, d, err))
	}
	if reason != "" {
		return s.record(bg, iss, d, Outcome{State: StateSkipped, Error: reason})
	}
	if s.cfg.Limiter != nil {
		if err := s.cfg.Limiter.Wait(ctx); err != nil {
			return "" // ctx ended
		}
	}
	if ctx.Err() != nil {
		return ""
	}
	sendCtx, cancel := context.WithTimeout(bg, s.cfg.SendTimeout)
	err = s.send(sendCtx, msg)
	cancel()
	return s.record(bg, iss, d, s.outcome(bg, iss, d, msg, err))
}

// skip is the stage that drops deliveries to subscribers who are no longer
// active or no longer on the issue's list: reason says why.
func (s *Sender) skip(ctx context.Context, iss *Issue, d Delivery) (*subscribers.Subscriber, string, error) {
	sub, err := s.cfg.Subscribers.GetSubscriberByID(ctx, d.SubscriberID)
	if errors.Is(err, subscribers.ErrNotFound) {
		return nil, "subscriber erased", nil
	}
	if err != nil {
		return nil, "", err
	}
	if sub.Status != subscribers.StatusActive {
		return sub, "subscriber " + string(sub.Status), nil
	}
	for _, l := range sub.Lists {
		if l.List == iss.Series && l.Active {
			return sub, "", nil
		}
	}
	return sub, "unsubscribed from " + iss.Series, nil
}

// send is the SMTP stage.
func (s *Sender) send(ctx context.Context, msg *mail.Message) error {
	return s.cfg.Transport.Send(ctx, msg)
}

// record is the last stage: the outcome goes to the outbox.
func (s *Sender) record(ctx context.Context, iss *Issue, d Delivery, o Outcome) string {
	ok, err := s.cfg.Store.CompleteDelivery(ctx, iss.ID, d.SubscriberID, s.cfg.Worker, o, s.cfg.Now())
	if err != nil {
		// The row stays sending; its lease runs out and it is tried again.
		s.cfg.Log.Error("digest: record delivery", "issue", iss.ID, "subscriber", d.SubscriberID, "err", err)
	} else if !ok {
		s.cfg.Log.Warn("digest: delivery was taken over by another worker (lease ran out)", "issue", iss.ID, "subscriber", d.SubscriberID)
	}
	switch {
	case o.State == StateSent:
		return ResultSent
	case o.State == StateSkipped:
		return ResultSkipped
	case o.Bounced:
		return ResultBounced
	case o.State == StateFailed:
		s.cfg.Log.Warn("digest: delivery failed", "issue", iss.ID, "subscriber", d.SubscriberID, "err", o.Error)
		return ResultFailed
	default:
		return ResultRetry
	}
}

// Resume sends every unfinished issue once (see SendIssue).
func (s *Sender) Resume(ctx context.Context) error {
	issues, err := s.cfg.Store.ListIssues(ctx, IssueSending)
	if err != nil {
		return err
	}
	var errs []error
	for _, iss := range issues {
		rep, err := s.SendIssue(ctx, iss, nil)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, err)
			continue
		}
		if rep != (Report{}) {
			s.cfg.Log.Info("digest sent", "issue", iss.ID, "sent", rep.Sent, "retry", rep.Retry, "failed", rep.Failed,
				"bounced", rep.Bounced, "skipped", rep.Skipped, "finished", rep.Finished)
		}
	}
	return errors.Join(errs...)
}
