package bounce

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// EventReader reads what came back; Store includes it.
type EventReader interface {
	SubscriberEvents(ctx context.Context, subscriberID int64) ([]Event, error)
	IssueEventCounts(ctx context.Context, issueID string) (map[Kind]int, error)
}

// Console writes, for operators, what came back after mail went out.
type Console struct {
	Events EventReader
	// ComplaintWarn is the complaint rate (0.001 = 0.1 %) above which
	// Later warns (bounce.complaint_warn).
	ComplaintWarn float64
	// Zone is the newsroom's zone, for the events' times.
	Zone *time.Location
}

// Later writes one line of what came back for an issue after its sent
// copies went out: hard and soft bounces, policy refusals, complaints
// (with their rate, and a warning above ComplaintWarn) and unsubscribes by
// mail. digest status prints it after the deliveries.
func (c Console) Later(ctx context.Context, w io.Writer, issueID string, sent int) error {
	n, err := c.Events.IssueEventCounts(ctx, issueID)
	if err != nil {
		return err
	}
	rate := 0.0
	if sent > 0 {
		rate = float64(n[KindComplaint]) / float64(sent)
	}
	fmt.Fprintf(w, "  later: hard bounces %d, soft bounces %d, refused by policy %d, complaints %d (%.2f %% of %d sent), unsubscribed by mail %d\n",
		n[KindHard], n[KindSoft], n[KindRejected], n[KindComplaint], 100*rate, sent, n[KindUnsubscribe])
	if rate > c.ComplaintWarn {
		fmt.Fprintf(w, "  WARN complaint rate %.2f %% is above %.2f %% (bounce.complaint_warn); mailbox providers filter bulk senders above 0.3 %%\n", 100*rate, 100*c.ComplaintWarn)
	}
	return nil
}

// SubscriberEvents writes the subscriber's events, oldest first, one a
// line, tab-separated: received (in Zone), source, kind, issue, code and
// status, action, diagnostic; "no events" when there are none.
func (c Console) SubscriberEvents(ctx context.Context, w io.Writer, subscriberID int64) error {
	evs, err := c.Events.SubscriberEvents(ctx, subscriberID)
	if err != nil {
		return err
	}
	for _, e := range evs {
		issue, code := e.IssueID, e.Status
		if issue == "" {
			issue = "-"
		}
		if e.Code != 0 {
			code = strings.TrimSpace(fmt.Sprintf("%d %s", e.Code, e.Status))
		}
		if code == "" {
			code = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ReceivedAt.In(c.Zone).Format(time.DateTime), e.Source, e.Kind, issue, code,
			e.Action, e.Diagnostic)
	}
	if len(evs) == 0 {
		fmt.Fprintln(w, "no events")
	}
	return nil
}
