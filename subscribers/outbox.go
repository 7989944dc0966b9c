package subscribers

import (
	"context"
	"time"
)

// ConfirmationState is where a confirmation email stands in the outbox.
type ConfirmationState string

const (
	ConfirmationPending ConfirmationState = "pending" // due at NextAttemptAt
	ConfirmationSending ConfirmationState = "sending" // claimed by a sender until its lease runs out
	ConfirmationSent    ConfirmationState = "sent"
	ConfirmationFailed  ConfirmationState = "failed" // given up: permanent failure, link expired, subscriber gone
)

// Confirmation is one sign-up request waiting for its confirmation, and
// the email that asks for it, in the outbox. What the request would change
// (the lists, the name, the consent record) is kept here, not on the
// subscriber, until the link is followed. It holds no token: the link is
// made when it is sent, from the subscriber, the request's ID, Lists and
// IssuedAt (it works until IssuedAt plus the confirmation TTL).
type Confirmation struct {
	ID           int64
	SubscriberID int64
	Lists        []string
	// Seq is the subscriber's EventSeq the request was given.
	Seq int64
	// Name and Consent are the request's: the subscriber takes them when
	// it is confirmed.
	Name          string
	Consent       Consent
	IssuedAt      time.Time
	State         ConfirmationState
	Attempts      int // claims so far
	NextAttemptAt time.Time
	LastError     string
	SentAt        time.Time
}

// ConfirmationOutbox keeps the confirmation emails until they are sent, so
// that a mail server that is down or misconfigured delays them instead of
// losing them.
type ConfirmationOutbox interface {
	// EnqueueConfirmation stores c as pending, due at c.NextAttemptAt, and
	// returns its id.
	EnqueueConfirmation(ctx context.Context, c Confirmation) (int64, error)
	// ClaimConfirmations takes up to limit due confirmations (sending ones
	// whose lease ran out first, then pending ones by due time), marks
	// them sending until now+lease, counts the attempt, and returns them.
	// Concurrent claimers never get the same row.
	ClaimConfirmations(ctx context.Context, limit int, now time.Time, lease time.Duration) ([]Confirmation, error)
	// FinishConfirmation records the outcome of a claimed confirmation:
	// ConfirmationSent (SentAt is now), ConfirmationPending again (due at
	// next, lastError kept) or ConfirmationFailed (lastError kept).
	FinishConfirmation(ctx context.Context, id int64, state ConfirmationState, lastError string, next, now time.Time) error
	// GetConfirmation returns one request; ErrNotFound when there is none.
	GetConfirmation(ctx context.Context, id int64) (Confirmation, error)
}
