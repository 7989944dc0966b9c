// Package digest builds and sends the weekly digest of a series: one issue
// per series per ISO week ("shanghai-70th/2019-W17") holding the series'
// articles published since the previous issue, rendered with hermes and sent
// to every active subscriber of the series' list through a crash-safe outbox
// kept in storage (see Store).
//
// Sending is a pipeline of small stages, each testable alone: claim (a batch
// of deliveries leased to this worker) → skip (subscribers who left since
// the issue was created) → render → rate limit → send (N workers) → record.
package digest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/syndicated/syndicated/subscribers"
)

// IssueStatus says whether an issue still has deliveries to make.
type IssueStatus string

const (
	IssueSending IssueStatus = "sending"
	IssueSent    IssueStatus = "sent"
)

// Issue is one series' digest for one ISO week. Its articles are the
// series' visible articles published in (Since, Until].
type Issue struct {
	ID         string // Series + "/" + Week
	Series     string
	Week       Week
	Since      time.Time
	Until      time.Time
	CreatedAt  time.Time
	Status     IssueStatus
	FinishedAt time.Time
	// Content is what every reader of the issue gets, fixed when it is
	// created; nil for issues stored before content was kept.
	Content *Content
}

// Content is an issue's email as laid out at creation: its subject and
// its Email without a reader (no Name, ViewURL or UnsubscribeURL).
type Content struct {
	Subject string `json:"subject"`
	Email   Email  `json:"email"`
}

// State is where one delivery stands.
type State string

const (
	StatePending State = "pending" // waiting (for the first try or a retry)
	StateSending State = "sending" // claimed by a worker until ClaimedUntil
	StateSent    State = "sent"
	StateFailed  State = "failed"  // permanent failure or out of attempts
	StateSkipped State = "skipped" // subscriber left before it was sent
)

// Done reports whether s is final.
func (s State) Done() bool { return s == StateSent || s == StateFailed || s == StateSkipped }

// Delivery is one issue to one subscriber.
type Delivery struct {
	IssueID       string
	SubscriberID  int64
	State         State
	Attempts      int // claims so far, this one included
	NextAttemptAt time.Time
	ClaimedBy     string
	ClaimedUntil  time.Time
	LastError     string
	MessageID     string
	SentAt        time.Time
	// Claim names the claim the delivery was handed out with (a store's
	// key, never 0), or is 0 for a delivery kept as a row of its own (a
	// retry). The sender ends a claim once each of its deliveries has an
	// outcome (Completion.EndsClaim).
	Claim int64
}

// Position is where d stands in the order claims take pending
// deliveries.
func (d Delivery) Position() ClaimPosition {
	return ClaimPosition{NextAttemptAt: d.NextAttemptAt, SubscriberID: d.SubscriberID}
}

// ClaimPosition is a place in the order claims take an issue's pending
// deliveries: by next attempt time, then subscriber.
type ClaimPosition struct {
	NextAttemptAt time.Time
	SubscriberID  int64
}

// IsZero reports whether p is the start of the claim order.
func (p ClaimPosition) IsZero() bool { return p.NextAttemptAt.IsZero() && p.SubscriberID == 0 }

// Before reports whether p comes before q in the claim order.
func (p ClaimPosition) Before(q ClaimPosition) bool {
	if !p.NextAttemptAt.Equal(q.NextAttemptAt) {
		return p.NextAttemptAt.Before(q.NextAttemptAt)
	}
	return p.SubscriberID < q.SubscriberID
}

// ClaimRequest is what ClaimBatch takes: up to Limit deliveries leased to
// Worker until Now+Lease.
type ClaimRequest struct {
	Worker string
	Limit  int
	Now    time.Time
	Lease  time.Duration
	// After: only pending deliveries kept as rows (retries) after this
	// position are taken. A sender passes where its previous claim ended,
	// so that it does not step again over the rows claimed since (on
	// PostgreSQL their old index entries stay until a vacuum). The zero
	// position is the start. What it passes over a claim from the start
	// finds. The recipients of the issue's snapshot that were never tried
	// are taken in order whatever After says (storage keeps a cursor).
	After ClaimPosition
	// SkipExpired: lapsed leases (of a worker that died) are not looked
	// for. They can only appear a lease after their worker stopped, so a
	// sender looks for them every so often, not at every claim.
	SkipExpired bool
}

// Batch is what one claim took.
type Batch struct {
	Deliveries []Delivery // ordered by subscriber
	// Subscribers are the deliveries' subscribers as they are now, by id,
	// as GetSubscribersByID loads them: erased ones are left out.
	Subscribers map[int64]*subscribers.Subscriber
}

// Outcome is what a worker records after trying a delivery.
type Outcome struct {
	State         State     // sent, pending (retry), failed or skipped
	MessageID     string    // sent: the Message-ID
	Error         string    // pending, failed: why (no addresses)
	NextAttemptAt time.Time // pending: not before
	// Bounced marks the subscriber bounced and bumps bounce_count in the
	// same transaction (a hard bounce).
	Bounced bool
}

// Completion is the outcome of one delivery, for CompleteDeliveries.
type Completion struct {
	SubscriberID int64
	Outcome      Outcome
	// Attempts and Claim are the delivery's (Delivery.Attempts and
	// Delivery.Claim). A sent one keeps its attempts (0 counts as 1); one
	// from a claim has no record yet, unless another worker that took the
	// claim over wrote one meanwhile.
	Attempts int
	Claim    int64
	// EndsClaim: this outcome is the last of its claim (every other
	// delivery handed out with it has its outcome recorded). The store
	// deletes the claim in the same transaction, if the worker still
	// holds it; one left behind is deleted when the issue finishes, is
	// released or is taken over.
	EndsClaim bool
}

// ErrNotFound is returned for an unknown issue.
var ErrNotFound = errors.New("digest issue not found")

// ErrNoRecipients is returned by CreateIssue when the list has no active
// subscriber: no issue is created.
var ErrNoRecipients = errors.New("no active subscribers")

// Store is the outbox both storage backends keep.
type Store interface {
	// SubscriberGetter loads the recipients of a claimed batch at once.
	SubscriberGetter
	// CreateIssue stores iss (status sending, with its Content) and, in the
	// same transaction, one pending delivery per subscriber who is active
	// and has an active subscription to the list iss.Series; with no such
	// subscriber it stores nothing and returns ErrNoRecipients. When an
	// issue with iss.ID exists nothing changes: it returns the stored issue
	// and created false.
	CreateIssue(ctx context.Context, iss Issue, now time.Time) (stored *Issue, created bool, err error)
	// GetIssue returns ErrNotFound for an unknown id.
	GetIssue(ctx context.Context, id string) (*Issue, error)
	// LastIssue is the series' issue with the latest Until other than
	// exceptID; ErrNotFound when there is none.
	LastIssue(ctx context.Context, series, exceptID string) (*Issue, error)
	// ListIssues returns the issues with this status (every issue when
	// empty), oldest first.
	ListIssues(ctx context.Context, status IssueStatus) ([]*Issue, error)
	// ClaimBatch leases up to req.Limit deliveries of the issue to
	// req.Worker until req.Now+req.Lease: pending ones whose NextAttemptAt
	// has come, and sending ones whose lease ran out (their worker died).
	// They become sending, with Attempts incremented; two claimers never
	// get the same delivery while its lease holds. The subscribers are
	// loaded with the claim: on PostgreSQL in the same statement, on SQLite
	// in the same transaction. A failure claims nothing.
	ClaimBatch(ctx context.Context, issueID string, req ClaimRequest) (Batch, error)
	// RenewClaims extends the lease of every delivery of the issue that
	// worker holds to now+lease (the live worker's heartbeat), and returns
	// how many it holds.
	RenewClaims(ctx context.Context, issueID, worker string, now time.Time, lease time.Duration) (int, error)
	// CompleteDeliveries records outcomes of deliveries claimed by worker,
	// in one transaction. A sent delivery is never changed again. ok[i] is
	// false when done[i]'s delivery is no longer this worker's (its lease
	// ran out and another claimed it), in which case a non-sent outcome is
	// not written.
	CompleteDeliveries(ctx context.Context, issueID, worker string, done []Completion, now time.Time) (ok []bool, err error)
	// NextLeaseEnd is the earliest claimed_until of the issue's sending
	// deliveries held by workers other than worker (zero when there is
	// none): when another worker's claims can be taken over.
	NextLeaseEnd(ctx context.Context, issueID, worker string) (time.Time, error)
	// ReleaseDeliveries hands back the deliveries worker holds on the issue
	// (pending again, due now, the claim not counted as an attempt).
	ReleaseDeliveries(ctx context.Context, issueID, worker string, now time.Time) (int, error)
	// FinishIssue marks the issue sent when no delivery is pending or
	// sending, and reports whether it is sent.
	FinishIssue(ctx context.Context, issueID string, now time.Time) (bool, error)
	// DeliveryCounts counts the issue's deliveries by state.
	DeliveryCounts(ctx context.Context, issueID string) (map[State]int, error)
	// ListDeliveries returns the issue's deliveries ordered by subscriber.
	ListDeliveries(ctx context.Context, issueID string) ([]Delivery, error)
	// SummarizeDeliveries is where the issue's deliveries stand at now
	// (an IssueReport without its Issue), counted by the database: its
	// memory does not grow with the number of subscribers.
	SummarizeDeliveries(ctx context.Context, issueID string, now time.Time) (*IssueReport, error)
}

// Week is an ISO 8601 week such as 2019-W17.
type Week struct {
	Year int
	Num  int
}

func (w Week) String() string { return fmt.Sprintf("%04d-W%02d", w.Year, w.Num) }

// WeekOf is the ISO week t falls in, in loc (the newsroom's zone).
func WeekOf(t time.Time, loc *time.Location) Week {
	y, n := t.In(loc).ISOWeek()
	return Week{y, n}
}

// ParseWeek reads "2019-W17" (also "2019-w17" or "2019W17").
func ParseWeek(s string) (Week, error) {
	var w Week
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.Replace(t, "-W", "W", 1)
	if _, err := fmt.Sscanf(t, "%4dW%2d", &w.Year, &w.Num); err != nil || len(t) != 7 {
		return Week{}, fmt.Errorf("week %q: want YYYY-Www, e.g. 2019-W17", s)
	}
	// Which weeks a year has does not depend on the zone.
	if w.Num < 1 || w.Num > 53 || WeekOf(w.Start(time.UTC), time.UTC) != w {
		return Week{}, fmt.Errorf("week %q does not exist", s)
	}
	return w, nil
}

// Start is Monday 00:00 of the week in loc (the newsroom's zone).
func (w Week) Start(loc *time.Location) time.Time {
	// January 4th is always in week 1.
	jan4 := time.Date(w.Year, 1, 4, 0, 0, 0, 0, loc)
	wd := (int(jan4.Weekday()) + 6) % 7 // Monday 0
	return jan4.AddDate(0, 0, -wd+(w.Num-1)*7)
}

// End is the next week's Start in loc.
func (w Week) End(loc *time.Location) time.Time { return w.Start(loc).AddDate(0, 0, 7) }

// IssueID names the issue of series for week.
func IssueID(series string, w Week) string { return series + "/" + w.String() }
