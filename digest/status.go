package digest

import (
	"cmp"
	"context"
	"errors"
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

// Status is where the issue's deliveries stand now.
func (s *Service) Status(ctx context.Context, iss *Issue) (*IssueReport, error) {
	return Status(ctx, s.cfg.Store, iss, s.cfg.Now())
}

// DeliveryCounts counts the issue's deliveries by state.
func (s *Service) DeliveryCounts(ctx context.Context, issueID string) (map[State]int, error) {
	return s.cfg.Store.DeliveryCounts(ctx, issueID)
}

// Issue is the stored issue of series for week w, or, when w is nil, the
// series' latest; ErrNotFound when there is none.
func (s *Service) Issue(ctx context.Context, series string, w *Week) (*Issue, error) {
	if w != nil {
		return s.cfg.Store.GetIssue(ctx, IssueID(series, *w))
	}
	return s.cfg.Store.LastIssue(ctx, series, "")
}

// RetryFailed makes the issue's failed deliveries pending again (see
// Admin) and returns how many; it needs Config.Admin.
func (s *Service) RetryFailed(ctx context.Context, issueID string) (int, error) {
	if s.cfg.Admin == nil {
		return 0, errors.New("digest: retry failed deliveries: no Admin configured")
	}
	return s.cfg.Admin.RetryFailed(ctx, issueID, s.cfg.Now())
}
