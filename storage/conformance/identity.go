package conformance

import (
	"errors"
	"testing"
	"time"

	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/subscribers"
)

// One subscriber per address whatever the letter case of its domain and
// local part: every method finds it by subscribers.Key, the address is
// kept as first typed (for sending), and none makes a second record.
func testSubscriberOneRecordPerAddress(t *testing.T, s storage.Storage) {
	first := subscribe(t, s, "Reader@Example.COM", subscribers.StatusActive, "shanghai-70th")
	if first.Email != "Reader@Example.COM" {
		t.Errorf("stored address %q, want it as typed", first.Email)
	}
	var sawID int64
	again, err := s.UpdateSubscriber(ctx(t), "reader@example.com", func(sub *subscribers.Subscriber) error {
		sawID = sub.ID
		sub.Email = "someone-else@example.com" // ignored: the address is the key
		sub.Name = "Li"
		return nil
	})
	if err != nil || sawID != first.ID || again.ID != first.ID || again.Email != "Reader@Example.COM" || again.Name != "Li" {
		t.Fatalf("update under another case: saw %d, got %+v %v", sawID, again, err)
	}
	for _, e := range []string{"READER@EXAMPLE.COM", "reader@example.com", "rEaDeR@eXaMpLe.CoM"} {
		if got, err := s.GetSubscriber(ctx(t), e); err != nil || got.ID != first.ID {
			t.Errorf("GetSubscriber(%s): %+v %v", e, got, err)
		}
	}
	// Beyond ASCII too.
	elise := subscribe(t, s, "Élise@example.com", subscribers.StatusActive, "society")
	if got, err := s.GetSubscriber(ctx(t), "élise@EXAMPLE.com"); err != nil || got.ID != elise.ID {
		t.Errorf("Élise under another case: %+v %v", got, err)
	}
	ins, skip, err := s.InsertSubscribers(ctx(t), []*subscribers.Subscriber{
		{Email: "READER@example.com", Status: subscribers.StatusActive},
		{Email: "new@example.com", Status: subscribers.StatusActive},
		{Email: "NEW@example.com", Status: subscribers.StatusActive},
	})
	if err != nil || ins != 1 || skip != 2 {
		t.Errorf("insert of other cases: %d inserted, %d skipped, %v", ins, skip, err)
	}
	if n, _ := s.CountSubscribers(ctx(t), subscribers.Filter{}); n != 3 {
		t.Errorf("%d subscribers, want 3", n)
	}
	if _, err := s.UpdateSubscriber(ctx(t), "reader@example.com", func(sub *subscribers.Subscriber) error {
		sub.Status = subscribers.StatusBounced
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if done, err := s.UnbounceSubscribers(ctx(t), []string{"READER@example.com"}, time.Time{}); err != nil || len(done) != 1 {
		t.Errorf("unbounce under another case: %v %v", done, err)
	}
	if err := s.DeleteSubscriber(ctx(t), "reader@EXAMPLE.com", "h-reader"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSubscriber(ctx(t), "Reader@Example.COM"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("removed under another case, still found: %v", err)
	}
}

// The event numbers UpdateSubscriber is given are kept.
func testSubscriberEventSeq(t *testing.T, s storage.Storage) {
	subscribe(t, s, "seq@example.com", subscribers.StatusActive, "society")
	if _, err := s.UpdateSubscriber(ctx(t), "seq@example.com", func(sub *subscribers.Subscriber) error {
		sub.EventSeq, sub.UnsubscribedSeq, sub.ConfirmedSeq = 7, 5, 3
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetSubscriber(ctx(t), "seq@example.com")
	if err != nil || got.EventSeq != 7 || got.UnsubscribedSeq != 5 || got.ConfirmedSeq != 3 {
		t.Errorf("event numbers: %+v %v", got, err)
	}
	var saw [3]int64
	if _, err := s.UpdateSubscriber(ctx(t), "SEQ@example.com", func(sub *subscribers.Subscriber) error {
		saw = [3]int64{sub.EventSeq, sub.UnsubscribedSeq, sub.ConfirmedSeq}
		return nil
	}); err != nil || saw != [3]int64{7, 5, 3} {
		t.Errorf("fn saw %v, %v", saw, err)
	}
}

// A sign-up request keeps its lists, number, name and consent record until
// it is confirmed; removing the subscriber erases its requests.
func testConfirmationRequest(t *testing.T, s storage.Storage) {
	a := subscribe(t, s, "req@example.com", subscribers.StatusActive, "shanghai-70th")
	now := t0.Add(time.Hour)
	req := subscribers.Confirmation{SubscriberID: a.ID, Lists: []string{"society"}, Seq: 4, Name: "Mallory ☃",
		Consent:  subscribers.Consent{At: now, IP: "203.0.113.66", UserAgent: "curl/8", Source: "api"},
		IssuedAt: now, NextAttemptAt: now}
	id, err := s.EnqueueConfirmation(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetConfirmation(ctx(t), id)
	req.ID, req.State = id, subscribers.ConfirmationPending
	if err != nil || got.ID != id || got.SubscriberID != a.ID || len(got.Lists) != 1 || got.Lists[0] != "society" || got.Seq != 4 ||
		got.Name != req.Name || got.Consent.IP != "203.0.113.66" || got.Consent.UserAgent != "curl/8" || got.Consent.Source != "api" ||
		!got.Consent.At.Equal(now) || !got.IssuedAt.Equal(now) || got.State != subscribers.ConfirmationPending {
		t.Errorf("request: %+v %v", got, err)
	}
	claimed, err := s.ClaimConfirmations(ctx(t), 10, now, time.Minute)
	if err != nil || len(claimed) != 1 || claimed[0].Seq != 4 || claimed[0].Name != req.Name || claimed[0].Consent.IP != "203.0.113.66" {
		t.Errorf("claimed: %+v %v", claimed, err)
	}
	if _, err := s.GetConfirmation(ctx(t), id+1000); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("unknown request: %v", err)
	}
	if err := s.DeleteSubscriber(ctx(t), "req@example.com", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetConfirmation(ctx(t), id); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("a removed subscriber's request is still stored: %v", err)
	}
}

// Suppressions are recorded with why; recording one again changes
// nothing; removal records one too.
func testSuppress(t *testing.T, s storage.Storage) {
	if ok, err := s.IsSuppressed(ctx(t), "h1"); err != nil || ok {
		t.Fatalf("before: %v %v", ok, err)
	}
	for range 2 {
		if err := s.Suppress(ctx(t), "h1", "complaint", t0); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := s.IsSuppressed(ctx(t), "h1"); err != nil || !ok {
		t.Errorf("after Suppress: %v %v", ok, err)
	}
	if err := s.Suppress(ctx(t), "", "x", t0); err == nil {
		t.Error("an empty hash was recorded")
	}
	if ms, err := s.SubscriberMerges(ctx(t)); err != nil || len(ms) != 0 {
		t.Errorf("merges of a new store: %v %v", ms, err)
	}
}
