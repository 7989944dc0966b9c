package digest

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// Admin is what the operator's commands need of the outbox beyond Store.
type Admin interface {
	// RetryFailed makes the issue's failed deliveries pending again (due
	// now, attempts reset) and the issue sending again; it returns how
	// many. Deliveries to subscribers who are no longer active are then
	// skipped when sent.
	RetryFailed(ctx context.Context, issueID string, now time.Time) (int, error)
}

// Failure is a reason deliveries failed or wait for a retry, and how many.
type Failure struct {
	State State // failed, or pending (waiting for a retry)
	Error string
	Count int
}

// IssueReport is where an issue's deliveries stand.
type IssueReport struct {
	Issue  *Issue
	Counts map[State]int
	// Waiting deliveries failed temporarily and wait for their retry
	// time; NextRetry is the earliest of those times.
	Waiting   int
	NextRetry time.Time
	// Due deliveries are pending and may be claimed now.
	Due int
	// Leased deliveries are held by a worker (this one or another
	// replica's) until LeaseUntil at the latest.
	Leased     int
	LeaseUntil time.Time
	MaxTries   int       // the most attempts any unfinished delivery has had
	Failures   []Failure // failed and waiting deliveries by reason, commonest first
}

// Status reads where the issue's deliveries stand at now.
func Status(ctx context.Context, st Store, iss *Issue, now time.Time) (*IssueReport, error) {
	r, err := st.SummarizeDeliveries(ctx, iss.ID, now)
	if err != nil {
		return nil, err
	}
	r.Issue = iss
	slices.SortFunc(r.Failures, func(a, b Failure) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.State, b.State), cmp.Compare(a.Error, b.Error))
	})
	return r, nil
}
