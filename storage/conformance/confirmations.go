package conformance

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

// The confirmation outbox: enqueue, claim with a lease, retry, send, give
// up, lease expiry, and removal of the subscriber.
func testConfirmationOutbox(t *testing.T, s storage.Storage) {
	a := subscribe(t, s, "pending@example.com", subscribers.StatusPending)
	b := subscribe(t, s, "other@example.com", subscribers.StatusPending)
	now := t0.Add(time.Hour)
	id, err := s.EnqueueConfirmation(ctx(t), subscribers.Confirmation{SubscriberID: a.ID, Lists: []string{"shanghai-70th", "society"}, IssuedAt: now, NextAttemptAt: now})
	if err != nil {
		t.Fatal(err)
	}
	later, err := s.EnqueueConfirmation(ctx(t), subscribers.Confirmation{SubscriberID: b.ID, Lists: []string{"society"}, IssuedAt: now, NextAttemptAt: now.Add(time.Minute)})
	if err != nil || later == id {
		t.Fatalf("second enqueue: %d %v", later, err)
	}
	if _, err := s.EnqueueConfirmation(ctx(t), subscribers.Confirmation{SubscriberID: a.ID, Lists: []string{"a,b"}, IssuedAt: now}); err == nil {
		t.Error("a list slug with a comma was stored")
	}
	got, err := s.ClaimConfirmations(ctx(t), 10, now, time.Minute)
	if err != nil || len(got) != 1 {
		t.Fatalf("claim at enqueue time: %+v %v", got, err)
	}
	c := got[0]
	if c.ID != id || c.SubscriberID != a.ID || !slices.Equal(c.Lists, []string{"shanghai-70th", "society"}) || !c.IssuedAt.Equal(now) ||
		c.State != subscribers.ConfirmationSending || c.Attempts != 1 {
		t.Fatalf("claimed %+v", c)
	}
	if again, _ := s.ClaimConfirmations(ctx(t), 10, now.Add(30*time.Second), time.Minute); len(again) != 0 {
		t.Fatalf("claimed twice within the lease: %+v", again)
	}
	// A failure puts it back with a reason and a later time.
	if err := s.FinishConfirmation(ctx(t), id, subscribers.ConfirmationPending, "STARTTLS not offered", now.Add(5*time.Minute), now); err != nil {
		t.Fatal(err)
	}
	due, _ := s.ClaimConfirmations(ctx(t), 10, now.Add(2*time.Minute), time.Minute)
	if len(due) != 1 || due[0].ID != later {
		t.Fatalf("at +2m want only the later row: %+v", due)
	}
	pending := storagetest.Confirmations(t, s, subscribers.ConfirmationPending)
	if len(pending) != 1 || pending[0].LastError != "STARTTLS not offered" || !pending[0].NextAttemptAt.Equal(now.Add(5*time.Minute)) {
		t.Fatalf("pending after a failure: %+v", pending)
	}
	// The later row's sender dies: its lease runs out and it is claimed
	// again, with the first row now due too.
	got, _ = s.ClaimConfirmations(ctx(t), 10, now.Add(6*time.Minute), time.Minute)
	if len(got) != 2 || got[0].ID != id || got[0].Attempts != 2 || got[1].ID != later || got[1].Attempts != 2 {
		t.Fatalf("after the lease and the retry time: %+v", got)
	}
	if err := s.FinishConfirmation(ctx(t), id, subscribers.ConfirmationSent, "", time.Time{}, now.Add(6*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishConfirmation(ctx(t), later, subscribers.ConfirmationFailed, "550 no such user", time.Time{}, now.Add(6*time.Minute)); err != nil {
		t.Fatal(err)
	}
	all := storagetest.Confirmations(t, s, "")
	if len(all) != 2 || all[0].State != subscribers.ConfirmationSent || !all[0].SentAt.Equal(now.Add(6*time.Minute)) || all[0].LastError != "" ||
		all[1].State != subscribers.ConfirmationFailed || all[1].LastError != "550 no such user" {
		t.Fatalf("outbox at the end: %+v", all)
	}
	if more, _ := s.ClaimConfirmations(ctx(t), 10, now.Add(time.Hour), time.Minute); len(more) != 0 {
		t.Fatalf("sent or failed rows claimed: %+v", more)
	}
	// Removing a subscriber removes their rows (no address data is left).
	if _, err := s.EnqueueConfirmation(ctx(t), subscribers.Confirmation{SubscriberID: b.ID, Lists: []string{"society"}, IssuedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSubscriber(ctx(t), b.Email, "hash"); err != nil {
		t.Fatal(err)
	}
	left := storagetest.Confirmations(t, s, "")
	if len(left) != 1 || left[0].SubscriberID != a.ID {
		t.Errorf("after removing b: %+v", left)
	}
}

// Senders claiming at once never get the same confirmation.
func testConfirmationClaimExclusive(t *testing.T, s storage.Storage) {
	const n = 40
	now := t0.Add(time.Hour)
	for i := range n {
		sub := subscribe(t, s, "c"+string(rune('a'+i%26))+string(rune('a'+i/26))+"@example.com", subscribers.StatusPending)
		if _, err := s.EnqueueConfirmation(ctx(t), subscribers.Confirmation{SubscriberID: sub.ID, Lists: []string{"society"}, IssuedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				got, err := s.ClaimConfirmations(ctx(t), 3, now, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, c := range got {
					seen[c.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("%d of %d confirmations claimed", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("confirmation %d claimed %d times", id, k)
		}
	}
}
