// Package subscribers holds the email subscriber model, double opt-in,
// one-click unsubscribe, and the tools operators use on the list.
package subscribers

import (
	"context"
	"errors"
	"sort"
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
	// EventSeq numbers this subscriber's sign-up requests, confirmations
	// and unsubscribes in the order their transactions ran (seconds cannot
	// order two events of one second). UnsubscribedSeq is the last
	// unsubscribe's number: a request numbered before it can no longer be
	// confirmed. ConfirmedSeq is the newest request confirmed, whose name
	// and consent the subscriber carries.
	EventSeq        int64 `json:"-"`
	UnsubscribedSeq int64 `json:"-"`
	ConfirmedSeq    int64 `json:"-"`
}

// Merge is one subscriber record folded into another because their
// addresses differ only in letter case (the migration to one record per
// address records each).
type Merge struct {
	At          time.Time
	KeptID      int64
	KeptEmail   string
	MergedID    int64
	MergedEmail string
}

// statusRank orders statuses for MergeRecords: the one a person asked for
// most recently wins over one the system set.
var statusRank = map[Status]int{StatusActive: 4, StatusPending: 3, StatusUnsubscribed: 2, StatusBounced: 1}

// MergeRecords folds the records of one person (addresses that differ only
// in letter case) into the one created first (the lowest id on a tie),
// which keeps its id and address as typed: it is subscribed to every list
// any record is active on; its consent is the earliest; its status is the
// strongest (active, then pending, unsubscribed, bounced), with the times
// that go with it; its name is its own, or the first other record's. recs
// are not changed.
func MergeRecords(recs []*Subscriber) *Subscriber {
	if len(recs) == 0 {
		return nil
	}
	sorted := make([]*Subscriber, len(recs))
	copy(sorted, recs)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	})
	out := *sorted[0]
	out.Lists = nil
	lists := map[string]int{}
	for _, r := range sorted {
		if out.Name == "" {
			out.Name = r.Name
		}
		if !r.Consent.At.IsZero() && (out.Consent.At.IsZero() || r.Consent.At.Before(out.Consent.At)) {
			out.Consent = r.Consent
		}
		if statusRank[r.Status] > statusRank[out.Status] {
			out.Status = r.Status
			out.UnsubscribedAt = r.UnsubscribedAt
		}
		if !r.ConfirmedAt.IsZero() && (out.ConfirmedAt.IsZero() || r.ConfirmedAt.Before(out.ConfirmedAt)) {
			out.ConfirmedAt = r.ConfirmedAt
		}
		if r.ConfirmationSentAt.After(out.ConfirmationSentAt) {
			out.ConfirmationSentAt = r.ConfirmationSentAt
		}
		out.BounceCount = max(out.BounceCount, r.BounceCount)
		out.EventSeq = max(out.EventSeq, r.EventSeq)
		out.UnsubscribedSeq = max(out.UnsubscribedSeq, r.UnsubscribedSeq)
		out.ConfirmedSeq = max(out.ConfirmedSeq, r.ConfirmedSeq)
		for _, l := range r.Lists {
			i, ok := lists[l.List]
			switch {
			case !ok:
				lists[l.List] = len(out.Lists)
				out.Lists = append(out.Lists, l)
			case l.Active && !out.Lists[i].Active:
				out.Lists[i] = l
			}
		}
	}
	if out.Status != StatusActive {
		out.ConfirmedAt = sorted[0].ConfirmedAt
	}
	if out.Status != StatusUnsubscribed {
		out.UnsubscribedAt = time.Time{}
	}
	sort.Slice(out.Lists, func(i, j int) bool { return out.Lists[i].List < out.Lists[j].List })
	return &out
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
	// Every method taking an email finds the subscriber by Key(email): the
	// letter case of an address never makes a second subscriber.
	//
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
	// DeleteSubscriber erases the subscriber's personal data (its record,
	// lists, confirmation requests and merge report) and records
	// suppressionHash (a keyed hash of the address) so the address cannot be
	// re-imported. ErrNotFound when there is no such subscriber.
	DeleteSubscriber(ctx context.Context, email, suppressionHash string) error
	IsSuppressed(ctx context.Context, suppressionHash string) (bool, error)
	// Suppress records suppressionHash with why (removed, complaint…); a
	// hash recorded already keeps its first reason.
	Suppress(ctx context.Context, suppressionHash, reason string, at time.Time) error
	// SubscriberMerges lists the records the migration to one record per
	// address folded into another, oldest first.
	SubscriberMerges(ctx context.Context) ([]Merge, error)
	// Secret returns the value kept under name, generating and storing it
	// on first use (the suppression key lives there, apart from the
	// configured secret).
	Secret(ctx context.Context, name string, generate func() (string, error)) (string, error)
	// InsertSubscribers adds many new subscribers in few transactions (CSV
	// import); an address already present (in any letter case) is left as
	// it is and counted in skipped. IDs are not set on the slice.
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
	ConfirmationOutbox
}
