package conformance

import (
	"slices"
	"testing"
	"time"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/digest/digesttest"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/subscribers"
)

// testDigestRetryAndUnbounce: a bounce records when it happened, unbounce
// undoes it by address or by time (and only bounces), and RetryFailed
// makes failed deliveries due again and the issue sending.
func testDigestRetryAndUnbounce(t *testing.T, s storage.Storage) {
	iss := seedIssue(t, s, 4)
	ds, err := digesttest.Claim(ctx(t), s, iss.ID, "w", 4, digestNow, time.Minute)
	if err != nil || len(ds) != 4 {
		t.Fatalf("claim: %v, %v", ds, err)
	}
	bounceAt := []time.Time{digestNow, digestNow.Add(time.Hour)}
	for i, d := range ds {
		o := digest.Outcome{State: digest.StateSent, MessageID: "m"}
		at := digestNow
		if i < 2 {
			o = digest.Outcome{State: digest.StateFailed, Error: "550 5.1.1 unknown", Bounced: true}
			at = bounceAt[i]
		} else if i == 2 {
			o = digest.Outcome{State: digest.StateFailed, Error: "554 5.7.1 relay denied"}
		}
		if ok, err := digesttest.Complete(ctx(t), s, iss.ID, d.SubscriberID, "w", o, at); err != nil || !ok {
			t.Fatalf("complete: %v %v", ok, err)
		}
	}
	if sent, err := s.FinishIssue(ctx(t), iss.ID, digestNow); err != nil || !sent {
		t.Fatalf("finish: %v %v", sent, err)
	}
	// By time: only the bounce at or after since.
	got, err := s.UnbounceSubscribers(ctx(t), nil, digestNow.Add(30*time.Minute))
	if err != nil || !slices.Equal(got, []string{"r001@example.com"}) {
		t.Fatalf("unbounce since: %v, %v", got, err)
	}
	// By address: a bounced one changes, an active one does not.
	got, err = s.UnbounceSubscribers(ctx(t), []string{"r000@example.com", "r003@example.com", "nobody@example.com"}, time.Time{})
	if err != nil || !slices.Equal(got, []string{"r000@example.com"}) {
		t.Fatalf("unbounce by address: %v, %v", got, err)
	}
	for _, e := range []string{"r000@example.com", "r001@example.com"} {
		sub, err := s.GetSubscriber(ctx(t), e)
		if err != nil || sub.Status != subscribers.StatusActive || sub.BounceCount != 0 || len(sub.Lists) != 1 || !sub.Lists[0].Active {
			t.Errorf("%s after unbounce: %+v, %v", e, sub, err)
		}
	}
	if got, _ := s.UnbounceSubscribers(ctx(t), nil, digestNow.Add(-time.Hour)); len(got) != 0 {
		t.Errorf("unbounced twice: %v", got)
	}

	later := digestNow.Add(2 * time.Hour)
	n, err := s.RetryFailed(ctx(t), iss.ID, later)
	if err != nil || n != 3 {
		t.Fatalf("RetryFailed = %d, %v; want 3", n, err)
	}
	if got, _ := s.GetIssue(ctx(t), iss.ID); got.Status != digest.IssueSending {
		t.Errorf("issue %s after RetryFailed, want sending", got.Status)
	}
	counts, _ := s.DeliveryCounts(ctx(t), iss.ID)
	if counts[digest.StatePending] != 3 || counts[digest.StateSent] != 1 {
		t.Errorf("counts %v", counts)
	}
	ds, err = digesttest.Claim(ctx(t), s, iss.ID, "w", 10, later, time.Minute)
	if err != nil || len(ds) != 3 || ds[0].Attempts != 1 {
		t.Fatalf("claim after RetryFailed: %+v, %v", ds, err)
	}
	if n, err := s.RetryFailed(ctx(t), iss.ID, later); err != nil || n != 0 {
		t.Errorf("RetryFailed with nothing failed = %d, %v", n, err)
	}
}
