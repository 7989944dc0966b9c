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

// SubscriberGetter loads subscribers as they are now, several at once. Ids
// of erased subscribers are left out of the map.
type SubscriberGetter interface {
	GetSubscribersByID(ctx context.Context, ids []int64) (map[int64]*subscribers.Subscriber, error)
}

// SenderConfig is what a Sender needs. Zero values get the defaults noted.
type SenderConfig struct {
	Store Store
	// Compose renders the issue for one subscriber (Service.Compose).
	Compose   func(ctx context.Context, iss *Issue, sub *subscribers.Subscriber) (*mail.Message, error)
	Transport mail.Transport
	Limiter   *rate.Limiter // nil: no limit
	Workers   int           // concurrent sends; default 4
	// Batch is how many deliveries one claim takes; default 256 (or
	// 2 × Workers if more), but with a Limiter no more than about two
	// seconds of sending at its rate, so that replicas sharing an issue
	// under a rate cap each have their part. A claim costs the database
	// a few statements whatever its size, and a read of its subscribers
	// (one row for the lease, see docs/digest.md, "The outbox"), so fewer,
	// larger claims cost less a message. A process killed
	// mid-issue strands its claim until the lease runs out; what it had
	// not sent is then sent by another, and only the messages in flight
	// (at most one a worker) can go out twice.
	Batch int
	// Lease is how long a claim holds before another worker may take the
	// delivery over. The sender renews its claims every Lease/3 while it
	// runs (a heartbeat), so a lease only runs out when its worker died.
	// Default 30 seconds.
	Lease time.Duration
	// WaitForLeases: when nothing is left to claim but deliveries are
	// claimed by other workers, wait for their leases to run out and send
	// those too, so that SendIssue finishes the issue (digest send). A
	// daemon, which comes back every minute anyway, leaves it false.
	WaitForLeases bool
	MaxAttempts   int                             // default 30 (Faults.MaxRetryAge usually ends retries first)
	Backoff       func(attempt int) time.Duration // default 1 min doubling to 1 h
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
		cfg.Batch = DefaultBatch
		if cfg.Limiter != nil && cfg.Limiter.Limit() != rate.Inf {
			cfg.Batch = min(cfg.Batch, int(2*cfg.Limiter.Limit()))
		}
		cfg.Batch = max(cfg.Batch, 2*cfg.Workers)
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
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

// DefaultBatch is how many deliveries a claim takes by default.
const DefaultBatch = 256

// DefaultLease is how long a claim holds without a heartbeat.
const DefaultLease = 30 * time.Second

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
//
// The stages run concurrently: a claimer leases Batch deliveries at a time
// and hands them to Workers workers (skip → render → rate limit → send),
// whose outcomes a recorder writes in batches, one transaction for every
// outcome waiting (group commit). A worker runs its next SMTP transaction
// while its previous outcome is written, but holds that message's final
// "." (mail.Message.Hold) until it is: a killed process has at most
// Workers messages sent but not recorded.
func (s *Sender) SendIssue(ctx context.Context, iss *Issue, progress func(r Report)) (Report, error) {
	var (
		rep Report
		mu  sync.Mutex
	)
	// The run's context ends when the circuit breaker trips (or has ended
	// already while the issue is paused after an earlier trip): the
	// claimer stops, the workers start no new send, and the claims not
	// sent are handed back below.
	ctx, run := s.startRun(ctx, iss)
	count := func(result string) {
		s.cfg.OnResult(result)
		mu.Lock()
		defer mu.Unlock()
		rep.add(result)
		if progress != nil {
			progress(rep)
		}
	}
	bg := context.WithoutCancel(ctx)
	hbCtx, stopHeartbeat := context.WithCancel(bg)
	var hb sync.WaitGroup
	hb.Go(func() { s.heartbeat(hbCtx, iss) })
	defer func() { stopHeartbeat(); hb.Wait() }()

	claims := &openClaims{left: map[int64]int{}}
	rec := s.startRecorder(bg, iss, claims, count)
	// The next batch is claimed while the workers send the last of this
	// one: a job waiting for each worker gives the claim (a durable
	// commit) the time of two messages a worker to come back in.
	jobs := make(chan job, s.cfg.Workers)
	var workers sync.WaitGroup
	for range s.cfg.Workers {
		workers.Go(func() { s.work(ctx, iss, jobs, rec) })
	}
	claimErr := s.claimLoop(ctx, iss, jobs, claims)
	close(jobs)
	workers.Wait()
	rec.close()

	if claimErr != nil && ctx.Err() == nil {
		return rep, claimErr
	}
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

// claimLoop is the first stage: batches of due deliveries leased to this
// worker (recorded as sending before any SMTP transaction), with their
// subscribers, handed to the workers one by one, until none is due (or,
// with WaitForLeases, none is left claimed by another worker either).
//
// Each claim of pending deliveries starts where the previous one ended;
// lapsed leases are looked for at the first claim and then every Lease/3
// (a lease lapses only a Lease after its worker stopped renewing it). A
// claim that comes up short is repeated from the start, lapsed leases
// included, before the loop concludes that nothing is due.
func (s *Sender) claimLoop(ctx context.Context, iss *Issue, jobs chan<- job, claims *openClaims) error {
	var (
		after     ClaimPosition // where the last claim of pending deliveries only ended
		checkedAt time.Time     // when lapsed leases were last looked for
		waited    bool          // the wait for another worker's claims was logged
	)
	for ctx.Err() == nil {
		now := s.cfg.Now()
		req := ClaimRequest{Worker: s.cfg.Worker, Limit: s.cfg.Batch, Now: now, Lease: s.cfg.Lease, After: after,
			SkipExpired: !checkedAt.IsZero() && now.Sub(checkedAt) < s.cfg.Lease/3}
		batch, err := s.cfg.Store.ClaimBatch(ctx, iss.ID, req)
		if err != nil {
			return err
		}
		if !req.SkipExpired {
			checkedAt = now
		}
		partial := req.SkipExpired || !req.After.IsZero()
		switch {
		case partial && len(batch.Deliveries) < req.Limit:
			after, checkedAt = ClaimPosition{}, time.Time{}
		case req.SkipExpired:
			// Pending deliveries only: the claim ended at the last.
			for _, d := range batch.Deliveries {
				if after.Before(d.Position()) {
					after = d.Position()
				}
			}
		}
		claims.add(batch.Deliveries) // before any of them can have an outcome
		for _, d := range batch.Deliveries {
			select {
			case jobs <- job{d: d, sub: batch.Subscribers[d.SubscriberID]}:
			case <-ctx.Done():
				return nil // the rest is handed back
			}
		}
		if len(batch.Deliveries) > 0 || partial {
			continue
		}
		if !s.cfg.WaitForLeases {
			return nil
		}
		end, err := s.cfg.Store.NextLeaseEnd(ctx, iss.ID, s.cfg.Worker)
		if err != nil || end.IsZero() {
			return err
		}
		// Another worker holds claims: they come back when its lease runs
		// out (it died), or it finishes them (it is alive and renewing; it
		// deletes each claim as its last outcome is recorded, so a look
		// every second sees the issue done soon after).
		wait := min(max(end.Sub(s.cfg.Now()), 0)+100*time.Millisecond, s.cfg.Lease/3, leaseLook)
		if !waited {
			s.cfg.Log.Info("digest: waiting for deliveries claimed by another worker", "issue", iss.ID, "lease_end", end)
			waited = true
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
	}
	return nil
}

// leaseLook is how often a sender with nothing left to claim looks again
// at the claims another worker holds.
const leaseLook = time.Second

// heartbeat renews this worker's claims on the issue every Lease/3.
func (s *Sender) heartbeat(ctx context.Context, iss *Issue) {
	t := time.NewTicker(s.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.cfg.Store.RenewClaims(ctx, iss.ID, s.cfg.Worker, s.cfg.Now(), s.cfg.Lease); err != nil && ctx.Err() == nil {
			s.cfg.Log.Warn("digest: renew claims", "issue", iss.ID, "err", err)
		}
	}
}

// job is a claimed delivery and its subscriber as loaded with the claim
// (nil: erased).
type job struct {
	d   Delivery
	sub *subscribers.Subscriber
}

// work runs claimed deliveries through skip → render → rate limit → send
// and hands their outcomes to the recorder (classified by outcome and
// retryOutcome, which also feed the run's circuit breaker). Once the run's
// context ends (shutdown, or the breaker tripped) it starts no new send.
func (s *Sender) work(ctx context.Context, iss *Issue, jobs <-chan job, rec *recorder) {
	var last *written // the previous send's outcome, being written
	defer func() {
		if last != nil {
			<-last.done
		}
	}()
	bg := context.WithoutCancel(ctx)
	for j := range jobs {
		d := j.d
		if ctx.Err() != nil {
			continue // not started: handed back
		}
		reason := s.skip(iss, j.sub)
		if reason != "" {
			rec.add(d, Outcome{State: StateSkipped, Error: reason})
			continue
		}
		msg, err := s.cfg.Compose(ctx, iss, j.sub)
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			// Our own failure (database, template): retry later like a
			// temporary send failure.
			s.cfg.Log.Warn("digest: prepare delivery", "issue", iss.ID, "subscriber", d.SubscriberID, "err", err)
			rec.add(d, s.retryOutcome(bg, iss, d, err))
			continue
		}
		if s.cfg.Limiter != nil {
			if err := s.cfg.Limiter.Wait(ctx); err != nil {
				continue // ctx ended
			}
		}
		if ctx.Err() != nil {
			continue
		}
		sendCtx, cancel := context.WithTimeout(bg, s.cfg.SendTimeout)
		// The transaction starts now, but the message is ended (its final
		// ".") only once this worker's previous outcome is recorded; if
		// that failed, it is abandoned, so that no more mail goes out
		// unrecorded.
		if last != nil {
			msg.Hold, msg.HoldErr = last.done, last.failed
		}
		err = s.send(sendCtx, msg)
		cancel()
		last = rec.add(d, s.outcome(bg, iss, d, msg, err))
	}
}

// skip is the stage that drops deliveries to subscribers who are no longer
// active or no longer on the issue's list: reason says why.
func (s *Sender) skip(iss *Issue, sub *subscribers.Subscriber) string {
	if sub == nil {
		return "subscriber erased"
	}
	if sub.Status != subscribers.StatusActive {
		return "subscriber " + string(sub.Status)
	}
	for _, l := range sub.Lists {
		if l.List == iss.Series && l.Active {
			return ""
		}
	}
	return "unsubscribed from " + iss.Series
}

// send is the SMTP stage.
func (s *Sender) send(ctx context.Context, msg *mail.Message) error {
	return s.cfg.Transport.Send(ctx, msg)
}

// recorder is the last stage: outcomes go to the outbox in batches.
type recorder struct {
	in   chan recorded
	done sync.WaitGroup
}

type recorded struct {
	d       Delivery
	o       Outcome
	written *written
}

// written says when an outcome has been written, and whether it was.
type written struct {
	done chan struct{} // closed once the outcome is committed or failed
	err  error         // set before done closes
}

// failed is the next send's mail.Message.HoldErr: once w is done, the
// error that kept its outcome from being written, if any.
func (w *written) failed() error {
	if w.err != nil {
		return fmt.Errorf("the previous outcome was not recorded: %w", w.err)
	}
	return nil
}

// maxGroup bounds the outcomes one transaction records.
const maxGroup = 256

// groupWait is how long the recorder waits for the other workers'
// outcomes before it writes a group that has fewer than one per worker.
// Meanwhile a worker holds only its next message's final "." (its
// transaction is under way). Groups of about one outcome per worker,
// rather than one or two, cost the database and the sender less CPU per
// message (scripts/digest-bench.sh; figures: docs/benchmarks.md).
const groupWait = 300 * time.Microsecond

// startRecorder starts the recorder. After each group it logs one warning
// for the failures classified since the previous group (batchDone): a
// group holds about one outcome per worker, as a worker sends its next
// message only once its previous outcome is written.
func (s *Sender) startRecorder(ctx context.Context, iss *Issue, claims *openClaims, count func(result string)) *recorder {
	r := &recorder{in: make(chan recorded, maxGroup)}
	r.done.Go(func() {
		group := make([]recorded, 0, maxGroup)
		wait := time.NewTimer(groupWait)
		for first := range r.in {
			group = append(group[:0], first)
			wait.Reset(groupWait)
			waiting := true
		more:
			for len(group) < maxGroup {
				if waiting && len(group) < s.cfg.Workers {
					select {
					case x, ok := <-r.in:
						if !ok {
							break more
						}
						group = append(group, x)
					case <-wait.C:
						waiting = false
					}
					continue
				}
				select {
				case x, ok := <-r.in:
					if !ok {
						break more
					}
					group = append(group, x)
				default:
					break more
				}
			}
			wait.Stop()
			s.record(ctx, iss, group, claims, count)
			s.batchDone(ctx, iss)
		}
	})
	return r
}

// add queues an outcome and says when it is written.
func (r *recorder) add(d Delivery, o Outcome) *written {
	x := recorded{d: d, o: o, written: &written{done: make(chan struct{})}}
	r.in <- x
	return x.written
}

func (r *recorder) close() {
	close(r.in)
	r.done.Wait()
}

// record writes a group of outcomes in one transaction, ending the
// claims whose last outcome it holds.
func (s *Sender) record(ctx context.Context, iss *Issue, group []recorded, claims *openClaims, count func(result string)) {
	cs := make([]Completion, len(group))
	for i, x := range group {
		cs[i] = Completion{SubscriberID: x.d.SubscriberID, Outcome: x.o, Attempts: x.d.Attempts,
			Claim: x.d.Claim, EndsClaim: claims.done(x.d.Claim)}
	}
	ok, err := s.cfg.Store.CompleteDeliveries(ctx, iss.ID, s.cfg.Worker, cs, s.cfg.Now())
	if err != nil {
		for _, x := range group {
			claims.lose(x.d.Claim)
		}
	}
	for i, x := range group {
		switch {
		case err != nil:
			// The row stays sending; its lease runs out and it is tried again.
			s.cfg.Log.Error("digest: record delivery", "issue", iss.ID, "subscriber", x.d.SubscriberID, "err", err)
		case !ok[i]:
			s.cfg.Log.Warn("digest: delivery was taken over by another worker (lease ran out)", "issue", iss.ID, "subscriber", x.d.SubscriberID)
		}
		if x.o.State == StateFailed && !x.o.Bounced {
			s.cfg.Log.Warn("digest: delivery failed", "issue", iss.ID, "subscriber", x.d.SubscriberID, "err", x.o.Error)
		}
		x.written.err = err
		close(x.written.done)
		count(resultOf(x.o))
	}
}

// openClaims counts, for each claim this run was handed, its deliveries
// without a recorded outcome, so that the group holding the last one
// also ends the claim (Completion.EndsClaim): the store need not count
// a claim's rows to know it is done.
type openClaims struct {
	mu   sync.Mutex
	left map[int64]int // claim → deliveries without an outcome; -1: lost
}

// add counts a batch's deliveries, before any has an outcome.
func (c *openClaims) add(ds []Delivery) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range ds {
		if d.Claim == 0 || c.left[d.Claim] < 0 {
			continue
		}
		c.left[d.Claim]++
	}
}

// done counts one outcome of claim and reports whether it was the
// claim's last.
func (c *openClaims) done(claim int64) bool {
	if claim == 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.left[claim]
	if n <= 0 {
		return false
	}
	if n == 1 {
		delete(c.left, claim)
		return true
	}
	c.left[claim] = n - 1
	return false
}

// lose marks claim as not to be ended by this run: an outcome of it was
// not recorded (the claim stays, for a takeover or the issue's end).
func (c *openClaims) lose(claim int64) {
	if claim == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.left[claim] = -1
}

// resultOf labels an outcome for the metric and the report.
func resultOf(o Outcome) string {
	switch {
	case o.State == StateSent:
		return ResultSent
	case o.State == StateSkipped:
		return ResultSkipped
	case o.Bounced:
		return ResultBounced
	case o.State == StateFailed:
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
