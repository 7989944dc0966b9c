// Package digesttest drives a digest.Store the way tests need: one claim
// and one outcome at a time, through the methods the sender uses.
package digesttest

import (
	"context"
	"time"

	"github.com/syndicated/syndicated/digest"
)

// Claim leases up to limit deliveries of the issue to worker until
// now+lease, from the start of the claim order (digest.Store.ClaimBatch,
// its subscribers left aside).
func Claim(ctx context.Context, s digest.Store, issueID, worker string, limit int, now time.Time, lease time.Duration) ([]digest.Delivery, error) {
	b, err := s.ClaimBatch(ctx, issueID, digest.ClaimRequest{Worker: worker, Limit: limit, Now: now, Lease: lease})
	return b.Deliveries, err
}

// Complete records one outcome of a delivery claimed by worker
// (digest.Store.CompleteDeliveries of one); false when the delivery is no
// longer the worker's.
func Complete(ctx context.Context, s digest.Store, issueID string, subscriberID int64, worker string, o digest.Outcome, now time.Time) (bool, error) {
	ok, err := s.CompleteDeliveries(ctx, issueID, worker, []digest.Completion{{SubscriberID: subscriberID, Outcome: o}}, now)
	if err != nil {
		return false, err
	}
	return ok[0], nil
}
