// Package subscribers holds the email subscriber model, double opt-in,
// one-click unsubscribe, and the tools operators use on the list.
package subscribers

import (
	"context"
	"errors"
	"time"
)

// Status is where a subscriber stands overall.
type Status string

const (
	StatusPending      Status = "pending"
	StatusActive       Status = "active"
	StatusUnsubscribed Status = "unsubscribed"
	StatusBounced      Status = "bounced"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusActive, StatusUnsubscribed, StatusBounced:
		return true
	}
	return false
}

// Consent records how and when someone asked to be subscribed.
type Consent struct {
	At        time.Time `json:"at"`
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	Source    string    `json:"source"` // "web", "api", "cli", "import"
}

// Subscription is one list (a series slug) a subscriber is on.
type Subscription struct {
	List      string    `json:"list"`
	Active    bool      `json:"active"`
	ChangedAt time.Time `json:"changed_at"`
}

// Subscriber is one email address on the list.
type Subscriber struct {
	ID             int64          `json:"id"`
	Email          string         `json:"email"` // normalised: see Normalize
	Name           string         `json:"name,omitempty"`
	Status         Status         `json:"status"`
	Lists          []Subscription `json:"lists"`
	Consent        Consent        `json:"consent"`
	CreatedAt      time.Time      `json:"created_at"`
	ConfirmedAt    time.Time      `json:"confirmed_at,omitzero"`
	UnsubscribedAt time.Time      `json:"unsubscribed_at,omitzero"`
	BounceCount    int            `json:"bounce_count"`
	// ConfirmationSentAt is when the last confirmation email went out; it
	// rate-limits confirmations per address.
	ConfirmationSentAt time.Time `json:"confirmation_sent_at,omitzero"`
}

// Sentinel errors shared by every store.
var (
	ErrNotFound   = errors.New("subscriber not found")
	ErrSuppressed = errors.New("address is on the suppression list")
)

// Filter selects subscribers; zero fields do not filter. Results are ordered
// by ID so that callers can page with AfterID.
type Filter struct {
	Status  Status
	List    string // only those with an active subscription to this list
	AfterID int64
	Limit   int // 0 means no limit
}

// Store keeps subscribers.
type Store interface {
	// UpdateSubscriber loads the subscriber with this normalised email inside
	// a transaction (locking the row where the backend can), calls fn, and
	// writes what fn left. When none exists fn gets a new Subscriber with only
	// Email set and ID 0; if fn leaves a new one with an empty Status nothing
	// is written. An error from fn aborts the write and is returned as is.
	UpdateSubscriber(ctx context.Context, email string, fn func(s *Subscriber) error) (*Subscriber, error)
	GetSubscriber(ctx context.Context, email string) (*Subscriber, error)
	GetSubscriberByID(ctx context.Context, id int64) (*Subscriber, error)
	ListSubscribers(ctx context.Context, f Filter) ([]*Subscriber, error)
	CountSubscribers(ctx context.Context, f Filter) (int, error)
	// DeleteSubscriber erases the subscriber's personal data and records
	// suppressionHash (a keyed hash of the address) so the address cannot be
	// re-imported. ErrNotFound when there is no such subscriber.
	DeleteSubscriber(ctx context.Context, email, suppressionHash string) error
	IsSuppressed(ctx context.Context, suppressionHash string) (bool, error)
	// InsertSubscribers adds many new subscribers in few transactions (CSV
	// import); an address already present is left as it is and counted in
	// skipped. IDs are not set on the slice.
	InsertSubscribers(ctx context.Context, subs []*Subscriber) (inserted, skipped int, err error)
	// UnbounceSubscribers makes bounced subscribers active again (one
	// bounce fewer): those with these normalised emails or, when emails is
	// empty, those bounced at or after since (by the digest sender or
	// MarkBounced). It returns the addresses it changed, and records an
	// unbounce event for each (bounce_events), so that soft bounces before
	// it no longer count towards bouncing them again.
	UnbounceSubscribers(ctx context.Context, emails []string, since time.Time) ([]string, error)
	// MarkBounced marks the subscriber with this id bounced (one bounce
	// more, bounced at at) when it is active, and reports whether it was.
	// Later notifications use it (package bounce); the digest's own
	// bounces are written with their delivery's outcome.
	MarkBounced(ctx context.Context, id int64, at time.Time) (bool, error)
	// Suppress records suppressionHash with why (removed, complaint…); a
	// hash recorded already keeps its first reason. (The signature of the
	// one the subscriber-identity work adds: keep theirs on merge.)
	Suppress(ctx context.Context, suppressionHash, reason string, at time.Time) error
	ConfirmationOutbox
}
