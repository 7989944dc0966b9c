package digest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/syndicated/syndicated/internal/cmdline"
)

// DeliveryRecord is one delivery of an issue with its recipient's address:
// the record of who got which issue, under which Message-ID.
type DeliveryRecord struct {
	Delivery
	// Email is the subscriber's address; empty when they were erased.
	Email string
}

// ParseState reads a --state: one of the delivery states, or "" for
// every one. Anything else is a usage error.
func ParseState(s string) (State, error) {
	switch st := State(s); st {
	case "", StatePending, StateSending, StateSent, StateFailed, StateSkipped:
		return st, nil
	}
	return "", fmt.Errorf("%w: --state %q is not pending, sending, sent, failed or skipped", cmdline.ErrUsage, s)
}

// DeliveryRecords lists the issue's deliveries in state (every one when
// empty), ordered by subscriber, each with the address it went to. The
// snapshot's recipients not yet tried are pending, with no attempt.
func (s *Service) DeliveryRecords(ctx context.Context, issueID string, state State) ([]DeliveryRecord, error) {
	ds, err := s.cfg.Store.ListDeliveries(ctx, issueID)
	if err != nil {
		return nil, err
	}
	out := make([]DeliveryRecord, 0, len(ds))
	ids := make([]int64, 0, len(ds))
	for _, d := range ds {
		if state == "" || d.State == state {
			out = append(out, DeliveryRecord{Delivery: d})
			ids = append(ids, d.SubscriberID)
		}
	}
	subs, err := s.cfg.Store.GetSubscribersByID(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("deliveries of %s: %w", issueID, err)
	}
	for i := range out {
		if sub := subs[out[i].SubscriberID]; sub != nil {
			out[i].Email = sub.Email
		}
	}
	return out, nil
}

// Deliveries writes the selected issue's deliveries in state (every one
// when empty), one a line, tab-separated: the address ("(erased)" for a
// subscriber erased since), the state, the attempts, when it was sent
// (RFC 3339, "-" when not), its Message-ID ("-" when none) and the last
// error. The selection must name one issue: an --issue, or one series'
// week, day or latest issue.
func (c *Console) Deliveries(ctx context.Context, sel Selection, state State) error {
	if n := len(sel.Issues); n > 1 || n == 0 && len(sel.Series) != 1 {
		return fmt.Errorf("%w: digest deliveries shows one issue: give one --issue, or one --series", cmdline.ErrUsage)
	}
	return c.forIssues(ctx, sel, func(iss *Issue) error {
		rs, err := c.Service.DeliveryRecords(ctx, iss.ID, state)
		if err != nil {
			return err
		}
		for _, r := range rs {
			email, sent, id := r.Email, "-", r.MessageID
			if email == "" {
				email = "(erased)"
			}
			if !r.SentAt.IsZero() {
				sent = r.SentAt.In(c.Service.Zone()).Format(time.RFC3339)
			}
			if id == "" {
				id = "-"
			}
			fmt.Fprintf(c.Stdout, "%s\t%s\t%d\t%s\t%s\t%s\n", email, r.State, r.Attempts, sent, id, oneLine(r.LastError))
		}
		if c.Terminal {
			fmt.Fprintf(c.Stderr, "%s: %d deliveries\n", iss.ID, len(rs))
		}
		return nil
	})
}

// oneLine keeps a server's reply on its line and in its column.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
