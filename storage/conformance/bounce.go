package conformance

import (
	"sync"
	"testing"
	"time"

	"github.com/syndicated/syndicated/bounce"
	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/digest/digesttest"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/subscribers"
)

// Later notifications (package bounce): events recorded once per key, the
// copies they are about, soft bounces counted since the last unbounce, and
// what they do to subscribers.

func bounceEvent(key string, kind bounce.Kind, issue string, sub int64, at time.Time) bounce.Event {
	return bounce.Event{Key: key, Source: bounce.SourceSMTP, Kind: kind, IssueID: issue, SubscriberID: sub,
		Status: "5.1.1", Code: 550, Diagnostic: "550 5.1.1 <address>: user unknown", OccurredAt: at, ReceivedAt: at}
}

func testBounceEvents(t *testing.T, s storage.Storage) {
	iss := seedIssue(t, s, 3)
	ds, err := digesttest.Claim(ctx(t), s, iss.ID, "w", 3, digestNow, time.Minute)
	if err != nil || len(ds) != 3 {
		t.Fatalf("claim: %v %v", ds, err)
	}
	if ok, err := digesttest.Complete(ctx(t), s, iss.ID, ds[0].SubscriberID, "w", digest.Outcome{State: digest.StateSent, MessageID: "m0@example.com"}, digestNow); err != nil || !ok {
		t.Fatalf("complete: %v %v", ok, err)
	}
	sub := ds[0].SubscriberID
	got, err := s.SubscriberDeliveries(ctx(t), sub, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("SubscriberDeliveries = %+v, %v", got, err)
	}
	if d := got[0]; d.IssueID != iss.ID || d.Series != "s1" || d.State != "sent" || d.MessageID != "m0@example.com" || !d.SentAt.Equal(digestNow) {
		t.Errorf("delivery %+v", d)
	}
	if got, _ := s.SubscriberDeliveries(ctx(t), ds[1].SubscriberID, 10); len(got) != 1 || got[0].State != "sending" || got[0].MessageID != "" {
		t.Errorf("delivery still sending: %+v", got)
	}

	e := bounceEvent("k1", bounce.KindHard, iss.ID, sub, digestNow.Add(time.Hour))
	first, created, err := s.RecordEvent(ctx(t), e)
	if err != nil || !created || first.ID == 0 || first.Kind != bounce.KindHard || first.IssueID != iss.ID || first.SubscriberID != sub ||
		first.Code != 550 || first.Status != "5.1.1" || !first.AppliedAt.IsZero() || !first.ReceivedAt.Equal(e.ReceivedAt) {
		t.Fatalf("RecordEvent = %+v, %v, %v", first, created, err)
	}
	again, created, err := s.RecordEvent(ctx(t), e)
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("RecordEvent again = %+v, %v, %v; want the first, not created", again, created, err)
	}
	if err := s.FinishEvent(ctx(t), first.ID, "bounced", digestNow.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if again, _, _ = s.RecordEvent(ctx(t), e); again.Action != "bounced" || !again.AppliedAt.Equal(digestNow.Add(2*time.Hour)) {
		t.Errorf("after FinishEvent: %+v", again)
	}
	// An event about a subscriber whose copy is unknown.
	if _, _, err := s.RecordEvent(ctx(t), bounceEvent("k2", bounce.KindComplaint, "", sub, digestNow)); err != nil {
		t.Fatal(err)
	}
	evs, err := s.SubscriberEvents(ctx(t), sub)
	if err != nil || len(evs) != 2 || evs[0].Key != "k1" || evs[1].IssueID != "" {
		t.Errorf("SubscriberEvents = %+v, %v", evs, err)
	}
	counts, err := s.IssueEventCounts(ctx(t), iss.ID)
	if err != nil || counts[bounce.KindHard] != 1 || len(counts) != 1 {
		t.Errorf("IssueEventCounts = %v, %v", counts, err)
	}

	// Erasing the subscriber keeps the issue's events, without them.
	sb, _ := s.GetSubscriberByID(ctx(t), sub)
	if err := s.DeleteSubscriber(ctx(t), sb.Email, "h"); err != nil {
		t.Fatal(err)
	}
	if counts, _ := s.IssueEventCounts(ctx(t), iss.ID); counts[bounce.KindHard] != 1 {
		t.Errorf("after erasure: counts %v", counts)
	}
	if evs, _ := s.SubscriberEvents(ctx(t), sub); len(evs) != 0 {
		t.Errorf("erased subscriber still has events: %+v", evs)
	}
	if ds, _ := s.SubscriberDeliveries(ctx(t), sub, 10); len(ds) != 0 {
		t.Errorf("erased subscriber still has deliveries: %+v", ds)
	}
	if kept, _, _ := s.RecordEvent(ctx(t), e); kept.ID != first.ID || kept.SubscriberID != 0 {
		t.Errorf("kept event %+v", kept)
	}
}

func testBounceRecordConcurrent(t *testing.T, s storage.Storage) {
	iss := seedIssue(t, s, 1)
	ds, _ := s.ListDeliveries(ctx(t), iss.ID)
	var wg sync.WaitGroup
	var mu sync.Mutex
	createdN, ids := 0, map[int64]bool{}
	for range 8 {
		wg.Go(func() {
			ev, created, err := s.RecordEvent(ctx(t), bounceEvent("same", bounce.KindSoft, iss.ID, ds[0].SubscriberID, digestNow))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			ids[ev.ID] = true
			if created {
				createdN++
			}
		})
	}
	wg.Wait()
	if createdN != 1 || len(ids) != 1 {
		t.Errorf("created %d times, ids %v; want once", createdN, ids)
	}
}

func testBounceSoftCountAndUnbounce(t *testing.T, s storage.Storage) {
	a := subscribe(t, s, "soft@example.com", subscribers.StatusActive, "s1")
	p := subscribe(t, s, "pending@example.com", subscribers.StatusPending, "s1")
	day := 24 * time.Hour
	for i, at := range []time.Time{digestNow, digestNow.Add(day), digestNow.Add(2 * day)} {
		issue := "s1/2019-W18"
		if i == 2 {
			issue = "s1/2019-W19"
		}
		if _, _, err := s.RecordEvent(ctx(t), bounceEvent("soft"+string(rune('a'+i)), bounce.KindSoft, issue, a.ID, at)); err != nil {
			t.Fatal(err)
		}
	}
	// A hard event does not count as soft.
	if _, _, err := s.RecordEvent(ctx(t), bounceEvent("hard", bounce.KindHard, "s1/2019-W19", a.ID, digestNow)); err != nil {
		t.Fatal(err)
	}
	if c, err := s.SoftBounces(ctx(t), a.ID, digestNow); err != nil || c != (bounce.SoftCount{Events: 3, Issues: 2}) {
		t.Errorf("SoftBounces = %+v, %v", c, err)
	}
	if c, _ := s.SoftBounces(ctx(t), a.ID, digestNow.Add(day)); c != (bounce.SoftCount{Events: 2, Issues: 2}) {
		t.Errorf("SoftBounces within a window = %+v", c)
	}

	at := digestNow.Add(3 * day)
	if ok, err := s.MarkBounced(ctx(t), a.ID, at); err != nil || !ok {
		t.Fatalf("MarkBounced = %v, %v", ok, err)
	}
	if ok, _ := s.MarkBounced(ctx(t), a.ID, at); ok {
		t.Error("MarkBounced twice changed it twice")
	}
	if ok, _ := s.MarkBounced(ctx(t), p.ID, at); ok {
		t.Error("MarkBounced changed a pending subscriber")
	}
	sub, _ := s.GetSubscriberByID(ctx(t), a.ID)
	if sub.Status != subscribers.StatusBounced || sub.BounceCount != 1 || len(sub.Lists) != 1 || !sub.Lists[0].Active {
		t.Errorf("after MarkBounced: %+v", sub)
	}
	// unbounce --all-since finds bounces of MarkBounced too, and resets
	// the soft count.
	got, err := s.UnbounceSubscribers(ctx(t), nil, at.Add(-time.Minute))
	if err != nil || len(got) != 1 || got[0] != "soft@example.com" {
		t.Fatalf("UnbounceSubscribers = %v, %v", got, err)
	}
	if c, _ := s.SoftBounces(ctx(t), a.ID, digestNow); c.Events != 0 {
		t.Errorf("soft bounces before the unbounce still count: %+v", c)
	}
	evs, _ := s.SubscriberEvents(ctx(t), a.ID)
	if last := evs[len(evs)-1]; last.Kind != bounce.KindUnbounce || last.Source != bounce.SourceOperator || last.AppliedAt.IsZero() {
		t.Errorf("last event %+v, want the unbounce", last)
	}
	if _, _, err := s.RecordEvent(ctx(t), bounceEvent("after", bounce.KindSoft, "s1/2019-W20", a.ID, digestNow)); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.SoftBounces(ctx(t), a.ID, digestNow.Add(-day)); c.Events != 1 {
		t.Errorf("a soft bounce after the unbounce: %+v", c)
	}
}

func testSuppressWithoutErasing(t *testing.T, s storage.Storage) {
	a := subscribe(t, s, "complainer@example.com", subscribers.StatusActive, "s1")
	for range 2 {
		if err := s.Suppress(ctx(t), "hash-of-complainer", "complaint", digestNow); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := s.IsSuppressed(ctx(t), "hash-of-complainer"); err != nil || !ok {
		t.Errorf("IsSuppressed = %v, %v", ok, err)
	}
	if _, err := s.GetSubscriberByID(ctx(t), a.ID); err != nil {
		t.Errorf("Suppress erased the subscriber: %v", err)
	}
}
