package digest

import (
	"context"
	"fmt"
	"time"

	"github.com/syndicated/syndicated/mail"
)

// Faults is how the sender treats failed sends. Zero values get the
// defaults noted.
type Faults struct {
	// MaxRetryAge ends retries by age, counted from the issue's creation:
	// a delivery still failing temporarily after it fails for good
	// (digest.max_retry_age, default 24 hours).
	MaxRetryAge time.Duration
	// MaybeDeliveredDelay is how long a delivery whose message was sent in
	// full but got no reply waits before it is tried again (default 1
	// hour): the server may have accepted it, and an immediate retry would
	// likely deliver a second copy.
	MaybeDeliveredDelay time.Duration
	// BreakerMin and BreakerRatio are the circuit breaker: once BreakerMin
	// deliveries of a run have failed the same way (same class, code and
	// reply) and they are at least BreakerRatio of the run's sends so
	// far, the run stops and leaves the rest pending. Defaults 5 and 0.8;
	// a negative BreakerMin turns the breaker off.
	BreakerMin   int
	BreakerRatio float64
	// BreakerPause is how long this Sender leaves an issue alone after
	// its breaker tripped (default 30 minutes), so that the daemon's
	// polling does not fail a few more deliveries every minute.
	BreakerPause time.Duration

	paused *pauses // set by withDefaults; shared by the Sender's runs
}

func (f Faults) withDefaults() Faults {
	if f.MaxRetryAge <= 0 {
		f.MaxRetryAge = 24 * time.Hour
	}
	if f.MaybeDeliveredDelay <= 0 {
		f.MaybeDeliveredDelay = time.Hour
	}
	if f.BreakerMin == 0 {
		f.BreakerMin = 5
	}
	if f.BreakerRatio <= 0 || f.BreakerRatio > 1 {
		f.BreakerRatio = 0.8
	}
	if f.BreakerPause <= 0 {
		f.BreakerPause = 30 * time.Minute
	}
	f.paused = &pauses{until: map[string]pause{}}
	return f
}

// outcome classifies a send's error (see mail.ClassOf): only a reply that
// says the mailbox does not exist bounces the subscriber; any other
// permanent refusal fails this delivery alone; a temporary failure is
// retried with backoff, a maybe-delivered one after MaybeDeliveredDelay.
func (s *Sender) outcome(ctx context.Context, iss *Issue, d Delivery, msg *mail.Message, err error) Outcome {
	class := mail.ClassOf(err)
	s.observe(ctx, class, err)
	switch class {
	case "":
		return Outcome{State: StateSent, MessageID: msg.MessageID}
	case mail.ClassBounce:
		s.cfg.Log.Warn("digest: subscriber bounced", "issue", iss.ID, "subscriber", d.SubscriberID, "err", err)
		return Outcome{State: StateFailed, Error: err.Error(), Bounced: true}
	case mail.ClassRejected:
		return Outcome{State: StateFailed, Error: err.Error()}
	case mail.ClassMaybeDelivered:
		o := s.retryOutcome(ctx, iss, d, err)
		if o.State == StatePending {
			o.NextAttemptAt = s.cfg.Now().Add(max(s.cfg.Faults.MaybeDeliveredDelay, s.cfg.Backoff(d.Attempts)))
		}
		return o
	default:
		return s.retryOutcome(ctx, iss, d, err)
	}
}

// retryOutcome is a temporary failure: pending again after the backoff,
// or failed for good once out of attempts or past MaxRetryAge.
func (s *Sender) retryOutcome(ctx context.Context, iss *Issue, d Delivery, err error) Outcome {
	if _, ok := err.(*mail.Error); !ok {
		s.observe(ctx, mail.ClassTemporary, err) // our own failure (prepare)
	}
	now := s.cfg.Now()
	giveUp := ""
	switch {
	case d.Attempts >= s.cfg.MaxAttempts:
		giveUp = fmt.Sprintf("gave up after %d attempts", d.Attempts)
	case !iss.CreatedAt.IsZero() && now.Sub(iss.CreatedAt) >= s.cfg.Faults.MaxRetryAge:
		giveUp = fmt.Sprintf("gave up after %s of retries (digest.max_retry_age)", s.cfg.Faults.MaxRetryAge)
	}
	if giveUp != "" {
		s.cfg.Log.Warn("digest: delivery given up", "issue", iss.ID, "subscriber", d.SubscriberID, "attempts", d.Attempts, "err", err)
		return Outcome{State: StateFailed, Error: giveUp + ": " + err.Error()}
	}
	return Outcome{State: StatePending, Error: err.Error(), NextAttemptAt: now.Add(s.cfg.Backoff(d.Attempts))}
}
