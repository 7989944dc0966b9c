package subscribers_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

// One person, one record: an address is one subscriber whatever the case
// of its domain and local part. The per-address limit holds across cases,
// the address is kept as first typed for sending, and removing it under
// any case removes it (and keeps it off the list under every case).
func TestOneSubscriberWhateverTheCase(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		ctx := context.Background()
		e := newEnv(t, st, func(c *subscribers.Config) { c.IPEvery = -1 })
		if err := e.subscribe(ctx, subscribers.Request{Email: "Reader@Example.COM", Lists: []string{"shanghai-70th"}}); err != nil {
			t.Fatal(err)
		}
		if err := e.subscribe(ctx, subscribers.Request{Email: "reader@example.com", Lists: []string{"shanghai-70th"}}); err != nil {
			t.Fatal(err)
		}
		msgs := e.out.Take()
		if len(msgs) != 1 || msgs[0].To != "Reader@example.com" {
			t.Fatalf("two sign-ups differing in case sent %d messages (per-address limit bypassed?)", len(msgs))
		}
		if n, _ := st.CountSubscribers(ctx, subscribers.Filter{}); n != 1 {
			t.Fatalf("%d subscribers, want 1", n)
		}
		if _, err := e.svc.Confirm(ctx, confirmToken(t, msgs[0])); err != nil {
			t.Fatal(err)
		}
		// The operator adds it again in yet another case: still one.
		if _, err := e.svc.Add(ctx, "READER@example.com", "", []string{"society"}, true); err != nil {
			t.Fatal(err)
		}
		rep, err := e.svc.ImportCSV(ctx, strings.NewReader("email\nreader@EXAMPLE.com\nREADER@example.COM\n"), nil)
		if err != nil || rep.Inserted != 0 || rep.Existing != 2 {
			t.Errorf("import of other cases: %+v %v", rep, err)
		}
		subs, _ := st.ListSubscribers(ctx, subscribers.Filter{})
		if len(subs) != 1 || subs[0].Email != "Reader@example.com" || activeLists(subs[0]) != "shanghai-70th,society" {
			t.Fatalf("subscribers: %+v", subs)
		}
		// Removed under one case: gone, and kept off under every case.
		if err := e.svc.Remove(ctx, "reader@example.com"); err != nil {
			t.Fatal(err)
		}
		if n, _ := st.CountSubscribers(ctx, subscribers.Filter{}); n != 0 {
			t.Errorf("%d subscribers left after the removal", n)
		}
		if err := e.subscribe(ctx, subscribers.Request{Email: "READER@Example.com"}); err != nil || len(e.out.Take()) != 0 {
			t.Errorf("a removed address in another case was mailed: %v", err)
		}
		rep, err = e.svc.ImportCSV(ctx, strings.NewReader("email\nReader@Example.COM\n"), nil)
		if err != nil || rep.Suppressed != 1 || rep.Inserted != 0 {
			t.Errorf("import of the removed address: %+v %v", rep, err)
		}
	})
}

// field is what a sign-up must not change before it is confirmed.
func fields(s *subscribers.Subscriber) string {
	var b strings.Builder
	b.WriteString(string(s.Status) + "|" + s.Name + "|" + s.Consent.IP + "|" + s.Consent.Source + "|" + s.Consent.At.String() + "|")
	for _, l := range s.Lists {
		b.WriteString(l.List)
		if l.Active {
			b.WriteString("+")
		}
		b.WriteString(",")
	}
	return b.String()
}

// Nothing about an existing subscriber changes until a new sign-up is
// confirmed: not its name (the next digest's greeting), not its consent
// record, its status or its lists; once confirmed, the request's name and
// consent are the subscriber's.
func TestNothingChangesBeforeConfirmation(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		ctx := context.Background()
		e := newEnv(t, st, func(c *subscribers.Config) { c.IPEvery = -1 })
		if _, err := e.svc.Add(ctx, "li@example.com", "Li Wei", []string{"shanghai-70th"}, true); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Add(ctx, "gone@example.com", "Gone", []string{"shanghai-70th"}, true); err != nil {
			t.Fatal(err)
		}
		gone := get(t, st, "gone@example.com")
		u, _ := e.svc.UnsubscribeURL(gone, subscribers.AllLists)
		if _, err := e.svc.Unsubscribe(ctx, mustQuery(t, u), true); err != nil {
			t.Fatal(err)
		}
		if err := e.subscribe(ctx, subscribers.Request{Email: "pending@example.com", Name: "First", IP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
		firstLink := confirmToken(t, e.out.Take()[0])
		before := map[string]string{}
		for _, a := range []string{"li@example.com", "gone@example.com", "pending@example.com"} {
			before[a] = fields(get(t, st, a))
		}
		e.clock.Add(time.Hour)
		links := map[string]string{}
		for _, a := range []string{"LI@example.com", "gone@example.com", "pending@example.com"} {
			if err := e.subscribe(ctx, subscribers.Request{Email: a, Name: "Mallory", Lists: []string{"society"}, IP: "203.0.113.66", Source: "api"}); err != nil {
				t.Fatal(err)
			}
			msgs := e.out.Take()
			if len(msgs) != 1 {
				t.Fatalf("%s: %d confirmations", a, len(msgs))
			}
			links[strings.ToLower(a)] = confirmToken(t, msgs[0])
		}
		for a, was := range before {
			if now := fields(get(t, st, a)); now != was {
				t.Errorf("%s changed before confirmation:\n was %s\n now %s", a, was, now)
			}
		}
		// The pending address confirms its first request: the first name.
		if _, err := e.svc.Confirm(ctx, firstLink); err != nil {
			t.Fatal(err)
		}
		if s := get(t, st, "pending@example.com"); s.Name != "First" || s.Consent.IP != "192.0.2.1" || s.Status != subscribers.StatusActive {
			t.Errorf("confirmed first request: %+v", s)
		}
		// Li confirms the society request: its name and consent now.
		if _, err := e.svc.Confirm(ctx, links["li@example.com"]); err != nil {
			t.Fatal(err)
		}
		if s := get(t, st, "li@example.com"); s.Name != "Mallory" || s.Consent.IP != "203.0.113.66" || s.Consent.Source != "api" ||
			activeLists(s) != "shanghai-70th,society" || s.Email != "li@example.com" {
			t.Errorf("after confirming: %+v", s)
		}
		// The unsubscribed one comes back only by its link.
		if _, err := e.svc.Confirm(ctx, links["gone@example.com"]); err != nil {
			t.Fatal(err)
		}
		if s := get(t, st, "gone@example.com"); s.Status != subscribers.StatusActive || activeLists(s) != "society" {
			t.Errorf("came back: %+v", s)
		}
		// An older request confirmed after a newer one takes its lists but
		// not its name back.
		if _, err := e.svc.Confirm(ctx, links["pending@example.com"]); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Confirm(ctx, firstLink); err != nil {
			t.Fatal(err)
		}
		if s := get(t, st, "pending@example.com"); s.Name != "Mallory" || activeLists(s) != "shanghai-70th,society" {
			t.Errorf("older request after a newer one: %+v", s)
		}
	})
}

// A confirmation link issued in the same second as an unsubscribe does
// not re-subscribe: events are ordered by their sequence, not by seconds.
func TestConfirmationOfTheSameSecondAsAnUnsubscribe(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		ctx := context.Background()
		e := newEnv(t, st, func(c *subscribers.Config) { c.IPEvery = -1 })
		sub, err := e.svc.Add(ctx, "same@example.com", "", []string{"shanghai-70th"}, true)
		if err != nil {
			t.Fatal(err)
		}
		// The clock stands still: everything below happens in one second.
		if err := e.subscribe(ctx, subscribers.Request{Email: "same@example.com", Lists: []string{"society"}}); err != nil {
			t.Fatal(err)
		}
		link := confirmToken(t, e.out.Take()[0])
		u, _ := e.svc.UnsubscribeURL(sub, subscribers.AllLists)
		if _, err := e.svc.Unsubscribe(ctx, mustQuery(t, u), true); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, st)
		if _, err := e.svc.Confirm(ctx, link); !errors.Is(err, subscribers.ErrInvalidToken) {
			t.Errorf("a link issued before the unsubscribe, in its second: %v, want refused", err)
		}
		if s := get(t, st, "same@example.com"); s.Status != subscribers.StatusUnsubscribed || activeLists(s) != "" || snapshot(t, st) != before {
			t.Errorf("re-subscribed: %+v", s)
		}
		// A sign-up after the unsubscribe, still in that second, confirms.
		if err := e.subscribe(ctx, subscribers.Request{Email: "same@example.com", Lists: []string{"society"}}); err != nil {
			t.Fatal(err)
		}
		msgs := e.out.Take()
		if len(msgs) != 0 {
			t.Fatalf("within the per-address interval: %d sent", len(msgs))
		}
		e.clock.Add(11 * time.Minute)
		if err := e.subscribe(ctx, subscribers.Request{Email: "same@example.com", Lists: []string{"society"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Confirm(ctx, confirmToken(t, e.out.Take()[0])); err != nil {
			t.Errorf("a link issued after the unsubscribe: %v", err)
		}
	})
}

// An unsubscribe by mail (a List-Unsubscribe mailto: or a complaint that
// bounce intake applies) voids a confirmation issued before it, as the
// one-click link does.
func TestConfirmationBeforeAnUnsubscribeByMail(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		ctx := context.Background()
		e := newEnv(t, st, func(c *subscribers.Config) { c.IPEvery = -1 })
		sub, err := e.svc.Add(ctx, "mailer@example.com", "", []string{"shanghai-70th"}, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.subscribe(ctx, subscribers.Request{Email: "mailer@example.com", Lists: []string{"society"}}); err != nil {
			t.Fatal(err)
		}
		link := confirmToken(t, e.out.Take()[0])
		if changed, err := e.svc.UnsubscribeList(ctx, sub.ID, subscribers.AllLists, e.clock.Now()); err != nil || !changed {
			t.Fatalf("unsubscribe by mail: %v, %v", changed, err)
		}
		if _, err := e.svc.Confirm(ctx, link); !errors.Is(err, subscribers.ErrInvalidToken) {
			t.Errorf("a link issued before the unsubscribe by mail: %v, want refused", err)
		}
		if s := get(t, st, "mailer@example.com"); s.Status != subscribers.StatusUnsubscribed || activeLists(s) != "" {
			t.Errorf("re-subscribed: %+v", s)
		}
	})
}

// The suppression list survives a change of secret: its hashes are keyed
// by a key kept in the store, created from the secret of the time (so
// hashes recorded before it existed still match) and never changed by the
// secret after.
func TestSuppressionSurvivesSecretRotation(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		ctx := context.Background()
		// A hash recorded by the previous release, keyed by the secret.
		oldSigner, err := subscribers.NewSigner([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Suppress(ctx, subscribers.SuppressionHash(oldSigner.InitialSuppressionKey(), "earlier@example.com"), "removed", time.Now()); err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, st, nil)
		if _, err := e.svc.Add(ctx, "removed@example.com", "", nil, true); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Remove(ctx, "removed@example.com"); err != nil {
			t.Fatal(err)
		}
		// The secret changes.
		rotated := newEnv(t, st, func(c *subscribers.Config) { c.Secret = []byte("a-new-secret-after-the-leak-0123"); c.IPEvery = -1 })
		rep, err := rotated.svc.ImportCSV(ctx, strings.NewReader("email\nremoved@example.com\nEarlier@example.com\nfresh@example.com\n"), nil)
		if err != nil || rep.Suppressed != 2 || rep.Inserted != 1 {
			t.Errorf("import after the rotation: %+v %v", rep, err)
		}
		for _, a := range []string{"removed@example.com", "earlier@example.com"} {
			if _, err := rotated.svc.Add(ctx, a, "", nil, true); !errors.Is(err, subscribers.ErrSuppressed) {
				t.Errorf("%s after the rotation: %v, want ErrSuppressed", a, err)
			}
			if err := rotated.subscribe(ctx, subscribers.Request{Email: a}); err != nil || len(rotated.out.Take()) != 0 {
				t.Errorf("%s mailed after the rotation: %v", a, err)
			}
		}
	})
}

// Suppress (a complaint) unsubscribes a subscriber from every list, voids
// its confirmation links and keeps it off the list; an address that is no
// subscriber is suppressed too.
func TestSuppress(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		ctx := context.Background()
		e := newEnv(t, st, func(c *subscribers.Config) { c.IPEvery = -1 })
		if _, err := e.svc.Add(ctx, "angry@example.com", "", []string{"shanghai-70th"}, true); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(time.Hour)
		if err := e.subscribe(ctx, subscribers.Request{Email: "angry@example.com", Lists: []string{"society"}}); err != nil {
			t.Fatal(err)
		}
		link := confirmToken(t, e.out.Take()[0])
		if err := e.svc.Suppress(ctx, "Angry@Example.com", "complaint"); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Suppress(ctx, "stranger@example.com", "complaint"); err != nil {
			t.Fatal(err)
		}
		if s := get(t, st, "angry@example.com"); s.Status != subscribers.StatusUnsubscribed || activeLists(s) != "" {
			t.Errorf("after a complaint: %+v", s)
		}
		if _, err := e.svc.Confirm(ctx, link); !errors.Is(err, subscribers.ErrInvalidToken) {
			t.Errorf("a link issued before the complaint: %v", err)
		}
		for _, a := range []string{"angry@example.com", "stranger@example.com"} {
			if _, err := e.svc.Add(ctx, a, "", nil, true); !errors.Is(err, subscribers.ErrSuppressed) {
				t.Errorf("%s: %v, want ErrSuppressed", a, err)
			}
		}
	})
}

// heldStore holds every call that would show an address's state until
// release is closed.
type heldStore struct {
	storage.Storage
	release chan struct{}
}

func (h *heldStore) IsSuppressed(ctx context.Context, hash string) (bool, error) {
	<-h.release
	return h.Storage.IsSuppressed(ctx, hash)
}

func (h *heldStore) Secret(ctx context.Context, name string, gen func() (string, error)) (string, error) {
	<-h.release
	return h.Storage.Secret(ctx, name, gen)
}

func (h *heldStore) UpdateSubscriber(ctx context.Context, email string, fn func(*subscribers.Subscriber) error) (*subscribers.Subscriber, error) {
	<-h.release
	return h.Storage.UpdateSubscriber(ctx, email, fn)
}

func (h *heldStore) GetSubscriber(ctx context.Context, email string) (*subscribers.Subscriber, error) {
	<-h.release
	return h.Storage.GetSubscriber(ctx, email)
}

// A sign-up is answered before anything about its address is looked up
// (whether it is new, pending, active or removed), so the answer takes the
// same time whatever the state: with the store held, every sign-up is
// answered at once; the requests are recorded, and the one new address
// mailed, once the store answers. (The figures: docs/benchmarks.md.)
func TestSignUpAnswersBeforeLookingAtTheAddress(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		ctx := context.Background()
		setup := newEnv(t, st, nil)
		if _, err := setup.svc.Add(ctx, "active@example.com", "", nil, true); err != nil {
			t.Fatal(err)
		}
		if err := setup.subscribe(ctx, subscribers.Request{Email: "pending@example.com"}); err != nil {
			t.Fatal(err)
		}
		if _, err := setup.svc.Add(ctx, "removed@example.com", "", nil, true); err != nil {
			t.Fatal(err)
		}
		if err := setup.svc.Remove(ctx, "removed@example.com"); err != nil {
			t.Fatal(err)
		}
		held := &heldStore{Storage: st, release: make(chan struct{})}
		e := newEnv(t, held, func(c *subscribers.Config) { c.IPEvery = -1 })
		answered := make(chan error, 4)
		for _, a := range []string{"new@example.com", "pending@example.com", "active@example.com", "removed@example.com"} {
			go func() { answered <- e.svc.Subscribe(ctx, subscribers.Request{Email: a}) }()
		}
		for range 4 {
			select {
			case err := <-answered:
				if err != nil {
					t.Errorf("sign-up: %v", err)
				}
			case <-time.After(10 * time.Second):
				close(held.release)
				t.Fatal("a sign-up waited for the store to answer")
			}
		}
		close(held.release)
		msgs := e.out.Take() // waits for the work after the answers
		if len(msgs) != 1 || msgs[0].To != "new@example.com" {
			t.Errorf("sent %d confirmations", len(msgs))
		}
		if s := get(t, st, "new@example.com"); s.Status != subscribers.StatusPending {
			t.Errorf("the new address: %+v", s)
		}
	})
}
