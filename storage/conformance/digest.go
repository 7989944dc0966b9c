package conformance

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/digest/digesttest"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/subscribers"
)

// The digest outbox: issue creation snapshots recipients once, claims are
// exclusive while their lease holds, and deliveries move through their
// states as digest.Store documents.

var digestNow = time.Date(2019, 4, 29, 1, 0, 0, 0, time.UTC) // Monday 09:00 Shanghai

func testIssue(series string) digest.Issue {
	w := digest.Week{Year: 2019, Num: 18}
	return digest.Issue{ID: digest.IssueID(series, w), Series: series, Week: w,
		Since: digestNow.Add(-7 * 24 * time.Hour), Until: digestNow}
}

func subscriberIDs(ds []digest.Delivery) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.SubscriberID
	}
	return out
}

func testDigestCreateIssue(t *testing.T, s storage.Storage) {
	a := subscribe(t, s, "a@example.com", subscribers.StatusActive, "s1")
	b := subscribe(t, s, "b@example.com", subscribers.StatusActive, "s1", "s2")
	subscribe(t, s, "other-list@example.com", subscribers.StatusActive, "s2")
	subscribe(t, s, "pending@example.com", subscribers.StatusPending, "s1")
	subscribe(t, s, "gone@example.com", subscribers.StatusUnsubscribed, "s1")
	subscribe(t, s, "bounced@example.com", subscribers.StatusBounced, "s1")
	if _, err := s.UpdateSubscriber(ctx(t), "left-list@example.com", func(sub *subscribers.Subscriber) error {
		sub.Status = subscribers.StatusActive
		sub.Lists = []subscribers.Subscription{{List: "s1", Active: false, ChangedAt: t0}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	if _, err := s.GetIssue(ctx(t), "s1/2019-W18"); !errors.Is(err, digest.ErrNotFound) {
		t.Fatalf("GetIssue before create: %v, want ErrNotFound", err)
	}
	if _, err := s.LastIssue(ctx(t), "s1", ""); !errors.Is(err, digest.ErrNotFound) {
		t.Fatalf("LastIssue before create: %v, want ErrNotFound", err)
	}
	iss, created, err := s.CreateIssue(ctx(t), testIssue("s1"), digestNow)
	if err != nil || !created {
		t.Fatalf("CreateIssue = %v, %v", created, err)
	}
	want := testIssue("s1")
	if iss.ID != want.ID || iss.Series != "s1" || iss.Week != want.Week || !iss.Since.Equal(want.Since) ||
		!iss.Until.Equal(want.Until) || !iss.CreatedAt.Equal(digestNow) || iss.Status != digest.IssueSending {
		t.Fatalf("stored issue = %+v", iss)
	}
	ds, err := s.ListDeliveries(ctx(t), iss.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := subscriberIDs(ds); !slices.Equal(got, []int64{a.ID, b.ID}) {
		t.Fatalf("recipients = %v, want %v (active subscribers of s1 only)", got, []int64{a.ID, b.ID})
	}
	for _, d := range ds {
		if d.State != digest.StatePending || d.Attempts != 0 || !d.NextAttemptAt.Equal(digestNow) || d.ClaimedBy != "" {
			t.Errorf("new delivery = %+v", d)
		}
	}

	// A second create (another replica, a retried job) changes nothing,
	// even when the list has grown since.
	subscribe(t, s, "late@example.com", subscribers.StatusActive, "s1")
	again := testIssue("s1")
	again.Until = digestNow.Add(time.Hour)
	iss2, created, err := s.CreateIssue(ctx(t), again, digestNow.Add(time.Hour))
	if err != nil || created {
		t.Fatalf("second CreateIssue = %v, %v; want false, nil", created, err)
	}
	if !iss2.Until.Equal(digestNow) || !iss2.CreatedAt.Equal(digestNow) {
		t.Errorf("second create returned %+v, want the stored issue", iss2)
	}
	if ds2, _ := s.ListDeliveries(ctx(t), iss.ID); len(ds2) != 2 {
		t.Errorf("after second create: %d deliveries, want 2", len(ds2))
	}

	// Concurrent creates: exactly one creates.
	var wg sync.WaitGroup
	var mu sync.Mutex
	createdN := 0
	for range 4 {
		wg.Go(func() {
			_, c, err := s.CreateIssue(ctx(t), testIssue("s2"), digestNow)
			if err != nil {
				t.Error(err)
			}
			if c {
				mu.Lock()
				createdN++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if createdN != 1 {
		t.Errorf("concurrent creates: %d created, want 1", createdN)
	}
	if n, _ := s.DeliveryCounts(ctx(t), "s2/2019-W18"); n[digest.StatePending] != 2 {
		t.Errorf("s2 counts = %v, want 2 pending", n)
	}

	last, err := s.LastIssue(ctx(t), "s1", "")
	if err != nil || last.ID != iss.ID {
		t.Errorf("LastIssue = %v, %v", last, err)
	}
	if _, err := s.LastIssue(ctx(t), "s1", iss.ID); !errors.Is(err, digest.ErrNotFound) {
		t.Errorf("LastIssue except the only one: %v, want ErrNotFound", err)
	}
	open, err := s.ListIssues(ctx(t), digest.IssueSending)
	if err != nil || len(open) != 2 {
		t.Errorf("ListIssues(sending) = %d, %v; want 2", len(open), err)
	}
}

func seedIssue(t *testing.T, s storage.Storage, n int) *digest.Issue {
	t.Helper()
	var subs []*subscribers.Subscriber
	for i := range n {
		subs = append(subs, &subscribers.Subscriber{Email: fmt.Sprintf("r%03d@example.com", i), Status: subscribers.StatusActive,
			CreatedAt: t0, Lists: []subscribers.Subscription{{List: "s1", Active: true, ChangedAt: t0}}})
	}
	if _, _, err := s.InsertSubscribers(ctx(t), subs); err != nil {
		t.Fatal(err)
	}
	iss, _, err := s.CreateIssue(ctx(t), testIssue("s1"), digestNow)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func testDigestClaimExclusive(t *testing.T, s storage.Storage) {
	iss := seedIssue(t, s, 40)
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	for _, w := range []string{"w1", "w2"} {
		wg.Go(func() {
			for {
				ds, err := digesttest.Claim(ctx(t), s, iss.ID, w, 3, digestNow, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					if prev, dup := seen[d.SubscriberID]; dup {
						t.Errorf("subscriber %d claimed by %s and %s", d.SubscriberID, prev, w)
					}
					seen[d.SubscriberID] = w
					if d.State != digest.StateSending || d.ClaimedBy != w || d.Attempts != 1 ||
						!d.ClaimedUntil.Equal(digestNow.Add(time.Minute)) {
						t.Errorf("claimed delivery = %+v", d)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 40 {
		t.Errorf("claimed %d deliveries, want 40", len(seen))
	}
}

func testDigestLease(t *testing.T, s storage.Storage) {
	iss := seedIssue(t, s, 3)
	ds, err := digesttest.Claim(ctx(t), s, iss.ID, "dead", 10, digestNow, time.Minute)
	if err != nil || len(ds) != 3 {
		t.Fatalf("claim = %d, %v", len(ds), err)
	}
	if ds, _ := digesttest.Claim(ctx(t), s, iss.ID, "live", 10, digestNow.Add(59*time.Second), time.Minute); len(ds) != 0 {
		t.Fatalf("claimed %d while the lease holds", len(ds))
	}
	later := digestNow.Add(time.Minute)
	ds, err = digesttest.Claim(ctx(t), s, iss.ID, "live", 10, later, time.Minute)
	if err != nil || len(ds) != 3 {
		t.Fatalf("re-claim after the lease = %d, %v; want 3", len(ds), err)
	}
	for _, d := range ds {
		if d.ClaimedBy != "live" || d.Attempts != 2 {
			t.Errorf("re-claimed = %+v", d)
		}
	}
	// The dead worker comes back: its failure is not recorded (no longer
	// its claim), but mail it did send is.
	ok, err := digesttest.Complete(ctx(t), s, iss.ID, ds[0].SubscriberID, "dead", digest.Outcome{State: digest.StateFailed, Error: "x"}, later)
	if err != nil || ok {
		t.Errorf("stale worker's failure recorded = %v, %v", ok, err)
	}
	ok, err = digesttest.Complete(ctx(t), s, iss.ID, ds[1].SubscriberID, "dead", digest.Outcome{State: digest.StateSent, MessageID: "m1@x"}, later)
	if err != nil || !ok {
		t.Errorf("stale worker's send recorded = %v, %v", ok, err)
	}
	// The live worker's failure after a sent one does not undo it.
	ok, _ = digesttest.Complete(ctx(t), s, iss.ID, ds[1].SubscriberID, "live", digest.Outcome{State: digest.StateFailed}, later)
	if ok {
		t.Error("a sent delivery was changed")
	}
	// Release hands back the rest without counting the claim.
	n, err := s.ReleaseDeliveries(ctx(t), iss.ID, "live", later)
	if err != nil || n != 2 {
		t.Errorf("release = %d, %v; want 2", n, err)
	}
	all, _ := s.ListDeliveries(ctx(t), iss.ID)
	for _, d := range all {
		if d.SubscriberID == ds[1].SubscriberID {
			if d.State != digest.StateSent || d.MessageID != "m1@x" || !d.SentAt.Equal(later) {
				t.Errorf("sent delivery = %+v", d)
			}
			continue
		}
		if d.State != digest.StatePending || d.Attempts != 1 || d.ClaimedBy != "" || !d.ClaimedUntil.IsZero() {
			t.Errorf("released delivery = %+v", d)
		}
	}
}

func testDigestTransitions(t *testing.T, s storage.Storage) {
	iss := seedIssue(t, s, 4)
	ds, err := digesttest.Claim(ctx(t), s, iss.ID, "w", 10, digestNow, time.Minute)
	if err != nil || len(ds) != 4 {
		t.Fatalf("claim = %d, %v", len(ds), err)
	}
	retryAt := digestNow.Add(10 * time.Minute)
	outcomes := []digest.Outcome{
		{State: digest.StateSent, MessageID: "a@x"},
		{State: digest.StatePending, Error: "mail: data failed (temporary, 451)", NextAttemptAt: retryAt},
		{State: digest.StateFailed, Error: "mail: rcpt failed (permanent, 550)", Bounced: true},
		{State: digest.StateSkipped, Error: "unsubscribed"},
	}
	for i, o := range outcomes {
		ok, err := digesttest.Complete(ctx(t), s, iss.ID, ds[i].SubscriberID, "w", o, digestNow)
		if err != nil || !ok {
			t.Fatalf("complete %d = %v, %v", i, ok, err)
		}
	}
	counts, err := s.DeliveryCounts(ctx(t), iss.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[digest.State]int{digest.StateSent: 1, digest.StatePending: 1, digest.StateFailed: 1, digest.StateSkipped: 1}
	for st, n := range want {
		if counts[st] != n {
			t.Errorf("counts = %v, want %v", counts, want)
			break
		}
	}
	bounced, err := s.GetSubscriberByID(ctx(t), ds[2].SubscriberID)
	if err != nil || bounced.Status != subscribers.StatusBounced || bounced.BounceCount != 1 {
		t.Errorf("hard-bounced subscriber = %+v, %v", bounced, err)
	}
	if sub, _ := s.GetSubscriberByID(ctx(t), ds[1].SubscriberID); sub.Status != subscribers.StatusActive {
		t.Errorf("temporary failure changed the subscriber: %s", sub.Status)
	}
	if done, err := s.FinishIssue(ctx(t), iss.ID, digestNow); err != nil || done {
		t.Errorf("FinishIssue with a retry pending = %v, %v", done, err)
	}
	// The retry waits for its time.
	if ds, _ := digesttest.Claim(ctx(t), s, iss.ID, "w", 10, retryAt.Add(-time.Second), time.Minute); len(ds) != 0 {
		t.Errorf("claimed %d before the retry time", len(ds))
	}
	ds, err = digesttest.Claim(ctx(t), s, iss.ID, "w", 10, retryAt, time.Minute)
	if err != nil || len(ds) != 1 || ds[0].Attempts != 2 || ds[0].LastError == "" {
		t.Fatalf("retry claim = %+v, %v", ds, err)
	}
	if _, err := digesttest.Complete(ctx(t), s, iss.ID, ds[0].SubscriberID, "w", digest.Outcome{State: digest.StateSent, MessageID: "b@x"}, retryAt); err != nil {
		t.Fatal(err)
	}
	if done, err := s.FinishIssue(ctx(t), iss.ID, retryAt); err != nil || !done {
		t.Errorf("FinishIssue when all done = %v, %v", done, err)
	}
	got, _ := s.GetIssue(ctx(t), iss.ID)
	if got.Status != digest.IssueSent || !got.FinishedAt.Equal(retryAt) {
		t.Errorf("finished issue = %+v", got)
	}
	if open, _ := s.ListIssues(ctx(t), digest.IssueSending); len(open) != 0 {
		t.Errorf("%d issues still sending", len(open))
	}
	if all, _ := s.ListIssues(ctx(t), ""); len(all) != 1 {
		t.Errorf("ListIssues(\"\") = %d, want 1", len(all))
	}
}

// testDigestContentAndRecipients: an issue keeps the content it was
// created with; an issue nobody would get is not created.
func testDigestContentAndRecipients(t *testing.T, s storage.Storage) {
	iss := testIssue("nobody")
	if _, _, err := s.CreateIssue(ctx(t), iss, digestNow); !errors.Is(err, digest.ErrNoRecipients) {
		t.Fatalf("CreateIssue with no recipients: %v, want ErrNoRecipients", err)
	}
	if _, err := s.GetIssue(ctx(t), iss.ID); !errors.Is(err, digest.ErrNotFound) {
		t.Fatalf("issue without recipients was stored: %v", err)
	}
	subscribe(t, s, "c@example.com", subscribers.StatusActive, "s1")
	iss = testIssue("s1")
	iss.Content = &digest.Content{Subject: "Series: 1 new story (2019-W18)", Email: digest.Email{Title: "Series",
		Intros: []string{"Intro « ünïcode »"}, Articles: []digest.ArticleView{{URL: "https://x.example/a", Headline: `A & <b>`,
			Date: "Monday 22 April 2019, 09:00", Photo: &article.Photo{URL: "https://x.example/p.jpg", Caption: "C"}}}}}
	if _, created, err := s.CreateIssue(ctx(t), iss, digestNow); err != nil || !created {
		t.Fatalf("CreateIssue = %v, %v", created, err)
	}
	got, err := s.GetIssue(ctx(t), iss.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Content, iss.Content) {
		t.Errorf("stored content = %+v, want %+v", got.Content, iss.Content)
	}
	if all, _ := s.ListIssues(ctx(t), ""); len(all) != 1 || !reflect.DeepEqual(all[0].Content, iss.Content) {
		t.Errorf("ListIssues does not give the content back")
	}
}

// testDigestClaimBatch: a sender's claim can leave lapsed leases aside
// and takes the snapshot's next recipients; a claim from the start takes
// the lapsed ones over; the subscribers (with every list, active or not) come with
// the batch (an erased subscriber's delivery is gone with it).
func testDigestClaimBatch(t *testing.T, s storage.Storage) {
	var subs []*subscribers.Subscriber
	for i := range 6 {
		subs = append(subs, &subscribers.Subscriber{Email: fmt.Sprintf("b%03d@example.com", i), Name: fmt.Sprintf("Reader %d", i),
			Status: subscribers.StatusActive, CreatedAt: t0, Lists: []subscribers.Subscription{{List: "s1", Active: true, ChangedAt: t0}}})
	}
	// Real-looking values: quotes, markup, CJK, a plus address, lists on
	// either side of the issue's in sort order.
	subs[0].Name, subs[0].Email = `O'Brien "Bo" 王小明 <x>, Jr.`, "bo.o'brien+digest@example.com"
	subs[0].Lists = append(subs[0].Lists, subscribers.Subscription{List: "s2", Active: false, ChangedAt: t0},
		subscribers.Subscription{List: "a-first", Active: true, ChangedAt: t0.Add(time.Second)})
	if _, _, err := s.InsertSubscribers(ctx(t), subs); err != nil {
		t.Fatal(err)
	}
	iss, _, err := s.CreateIssue(ctx(t), testIssue("s1"), digestNow)
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.ListDeliveries(ctx(t), iss.ID)
	if err != nil || len(all) != 6 {
		t.Fatalf("deliveries = %d, %v", len(all), err)
	}
	ids := subscriberIDs(all)
	if ds, err := digesttest.Claim(ctx(t), s, iss.ID, "dead", 1, digestNow, time.Minute); err != nil || len(ds) != 1 || ds[0].SubscriberID != ids[0] {
		t.Fatalf("first claim = %+v, %v; want subscriber %d", ds, err, ids[0])
	}
	if err := s.DeleteSubscriber(ctx(t), "b002@example.com", ""); err != nil {
		t.Fatal(err)
	}
	later := digestNow.Add(2 * time.Minute)
	// Lapsed leases left aside: the snapshot's next recipients (req.After
	// is for the rows of retries), the erased one left out.
	req := digest.ClaimRequest{Worker: "w", Limit: 10, Now: later, Lease: time.Minute,
		After: all[3].Position(), SkipExpired: true}
	b, err := s.ClaimBatch(ctx(t), iss.ID, req)
	if want := []int64{ids[1], ids[3], ids[4], ids[5]}; err != nil || !slices.Equal(subscriberIDs(b.Deliveries), want) {
		t.Fatalf("claim with lapsed leases left = %v, %v; want %v", subscriberIDs(b.Deliveries), err, want)
	}
	// A claim from the start takes the lapsed lease over.
	b2, err := s.ClaimBatch(ctx(t), iss.ID, digest.ClaimRequest{Worker: "w", Limit: 10, Now: later, Lease: time.Minute})
	if err != nil || !slices.Equal(subscriberIDs(b2.Deliveries), ids[:1]) {
		t.Fatalf("claim from the start = %v, %v; want %v", subscriberIDs(b2.Deliveries), err, ids[:1])
	}
	b.Deliveries = append(b.Deliveries, b2.Deliveries...)
	maps.Copy(b.Subscribers, b2.Subscribers)
	want := []int64{ids[0], ids[1], ids[3], ids[4], ids[5]}
	for _, d := range b.Deliveries {
		want := 1
		if d.SubscriberID == ids[0] {
			want = 2 // the lapsed lease, taken over
		}
		if d.State != digest.StateSending || d.ClaimedBy != "w" || d.Attempts != want || !d.ClaimedUntil.Equal(later.Add(time.Minute)) {
			t.Errorf("claimed delivery = %+v", d)
		}
	}
	if len(b.Subscribers) != len(want) {
		t.Errorf("subscribers of the batches = %v; want %v", slices.Collect(maps.Keys(b.Subscribers)), want)
	}
	for i, id := range want {
		sub := b.Subscribers[id]
		if sub == nil || sub.ID != id || sub.Email == "" || sub.Name == "" || sub.Status != subscribers.StatusActive {
			t.Errorf("subscriber %d = %+v", i, sub)
			continue
		}
		want := []subscribers.Subscription{{List: "s1", Active: true, ChangedAt: t0}}
		if id == ids[0] {
			want = []subscribers.Subscription{{List: "a-first", Active: true, ChangedAt: t0.Add(time.Second)},
				want[0], {List: "s2", ChangedAt: t0}}
		}
		if !reflect.DeepEqual(sub.Lists, want) {
			t.Errorf("lists of subscriber %d = %+v, want %+v", id, sub.Lists, want)
		}
		if direct, err := s.GetSubscribersByID(ctx(t), []int64{id}); err != nil || !reflect.DeepEqual(direct[id], sub) {
			t.Errorf("subscriber %d with the claim = %+v; GetSubscribersByID = %+v, %v", id, sub, direct[id], err)
		}
	}
}

// testDigestHeartbeatAndGroups: renewed claims hold past their first
// lease; outcomes recorded together behave as one by one; the recipients
// of a batch load at once.
func testDigestHeartbeatAndGroups(t *testing.T, s storage.Storage) {
	iss := seedIssue(t, s, 6)
	ds, err := digesttest.Claim(ctx(t), s, iss.ID, "live", 4, digestNow, time.Minute)
	if err != nil || len(ds) != 4 {
		t.Fatalf("claim = %d, %v", len(ds), err)
	}
	if end, err := s.NextLeaseEnd(ctx(t), iss.ID, "other"); err != nil || !end.Equal(digestNow.Add(time.Minute)) {
		t.Errorf("NextLeaseEnd = %v, %v; want %v", end, err, digestNow.Add(time.Minute))
	}
	if end, err := s.NextLeaseEnd(ctx(t), iss.ID, "live"); err != nil || !end.IsZero() {
		t.Errorf("NextLeaseEnd of the holder's own claims = %v, %v; want zero", end, err)
	}
	beat := digestNow.Add(50 * time.Second)
	if n, err := s.RenewClaims(ctx(t), iss.ID, "live", beat, time.Minute); err != nil || n != 4 {
		t.Fatalf("RenewClaims = %d, %v; want 4", n, err)
	}
	// Past the first lease, before the renewed one: only the two never
	// claimed are free.
	if got, _ := digesttest.Claim(ctx(t), s, iss.ID, "other", 10, digestNow.Add(90*time.Second), time.Minute); len(got) != 2 {
		t.Fatalf("claimed %d past the first lease, want the 2 unclaimed", len(got))
	}
	ids := subscriberIDs(ds)
	byID, err := s.GetSubscribersByID(ctx(t), append(ids, 999999))
	if err != nil || len(byID) != 4 {
		t.Fatalf("GetSubscribersByID = %d, %v; want 4 (unknown ids left out)", len(byID), err)
	}
	for _, id := range ids {
		if sub := byID[id]; sub == nil || sub.ID != id || len(sub.Lists) != 1 || sub.Lists[0].List != "s1" {
			t.Errorf("subscriber %d = %+v", id, sub)
		}
	}
	ok, err := s.CompleteDeliveries(ctx(t), iss.ID, "live", []digest.Completion{
		{SubscriberID: ids[0], Outcome: digest.Outcome{State: digest.StateSent, MessageID: "a@x"}},
		{SubscriberID: ids[1], Outcome: digest.Outcome{State: digest.StateSent, MessageID: `b."q"\\1@x`}},
		{SubscriberID: ids[2], Outcome: digest.Outcome{State: digest.StatePending, Error: "451", NextAttemptAt: beat}},
		{SubscriberID: ids[3], Outcome: digest.Outcome{State: digest.StateFailed, Error: "550", Bounced: true}},
	}, beat)
	if err != nil || !slices.Equal(ok, []bool{true, true, true, true}) {
		t.Fatalf("CompleteDeliveries = %v, %v", ok, err)
	}
	// Again, from a worker that no longer holds them: the sent ones stay
	// as they were, the others are not its to record.
	ok, err = s.CompleteDeliveries(ctx(t), iss.ID, "late", []digest.Completion{
		{SubscriberID: ids[0], Outcome: digest.Outcome{State: digest.StateSent, MessageID: "other@x"}},
		{SubscriberID: ids[2], Outcome: digest.Outcome{State: digest.StateFailed, Error: "x"}},
	}, beat.Add(time.Second))
	if err != nil || !slices.Equal(ok, []bool{false, false}) {
		t.Fatalf("stale CompleteDeliveries = %v, %v", ok, err)
	}
	all, _ := s.ListDeliveries(ctx(t), iss.ID)
	want := map[int64]string{ids[0]: "sent a@x", ids[1]: `sent b."q"\\1@x`, ids[2]: "pending ", ids[3]: "failed "}
	for _, d := range all {
		if w, ok := want[d.SubscriberID]; ok && string(d.State)+" "+d.MessageID != w {
			t.Errorf("delivery %d = %s %q, want %s", d.SubscriberID, d.State, d.MessageID, w)
		}
	}
	if sub, _ := s.GetSubscriberByID(ctx(t), ids[3]); sub.Status != subscribers.StatusBounced {
		t.Errorf("bounced in a group: subscriber is %s", sub.Status)
	}
	// The summary the database counts is what the rows say, before and
	// after the retry time, and once the leases have run out.
	for _, at := range []time.Time{beat.Add(-time.Second), beat, beat.Add(time.Hour)} {
		got, err := s.SummarizeDeliveries(ctx(t), iss.ID, at)
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := s.ListDeliveries(ctx(t), iss.ID)
		want := summaryOfRows(rows, at)
		slices.SortFunc(got.Failures, compareFailures)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("SummarizeDeliveries at %s =\n%+v\nthe rows say\n%+v", at, got, want)
		}
	}
}

// summaryOfRows is SummarizeDeliveries worked out from the rows.
func summaryOfRows(ds []digest.Delivery, now time.Time) *digest.IssueReport {
	r := &digest.IssueReport{Counts: map[digest.State]int{}}
	reasons := map[digest.Failure]int{}
	for _, d := range ds {
		r.Counts[d.State]++
		switch d.State {
		case digest.StatePending:
			if d.NextAttemptAt.After(now) {
				r.Waiting++
				if r.NextRetry.IsZero() || d.NextAttemptAt.Before(r.NextRetry) {
					r.NextRetry = d.NextAttemptAt
				}
			} else {
				r.Due++
			}
			r.MaxTries = max(r.MaxTries, d.Attempts)
		case digest.StateSending:
			r.Leased++
			if d.ClaimedUntil.After(r.LeaseUntil) {
				r.LeaseUntil = d.ClaimedUntil
			}
			r.MaxTries = max(r.MaxTries, d.Attempts)
		}
		if d.LastError != "" && (d.State == digest.StateFailed || d.State == digest.StatePending) {
			reasons[digest.Failure{State: d.State, Error: d.LastError}]++
		}
	}
	for f, n := range reasons {
		f.Count = n
		r.Failures = append(r.Failures, f)
	}
	slices.SortFunc(r.Failures, compareFailures)
	return r
}

func compareFailures(a, b digest.Failure) int {
	if c := b.Count - a.Count; c != 0 {
		return c
	}
	if a.State != b.State {
		return map[bool]int{true: -1, false: 1}[a.State < b.State]
	}
	return map[bool]int{true: -1, false: 1}[a.Error < b.Error]
}

// testDigestTakeover: a claim whose worker died is taken over with only
// its recipients that have no outcome recorded (the mail that was in
// flight), and across more recipients than one chunk of the snapshot; an
// erased recipient is neither sent nor waited for.
func testDigestTakeover(t *testing.T, s storage.Storage) {
	const n = 2100 // three chunks of the snapshot
	iss := seedIssue(t, s, n)
	dead, err := digesttest.Claim(ctx(t), s, iss.ID, "dead", 1500, digestNow, time.Minute)
	if err != nil || len(dead) != 1500 {
		t.Fatalf("claim = %d, %v", len(dead), err)
	}
	var done []digest.Completion
	for i, d := range dead {
		if i%3 != 0 {
			done = append(done, digest.Completion{SubscriberID: d.SubscriberID,
				Outcome: digest.Outcome{State: digest.StateSent, MessageID: fmt.Sprintf("m%d@x", i)}})
		}
	}
	if ok, err := s.CompleteDeliveries(ctx(t), iss.ID, "dead", done, digestNow); err != nil || !slices.Equal(ok, slices.Repeat([]bool{true}, len(done))) {
		t.Fatalf("CompleteDeliveries = %v", err)
	}
	if err := s.DeleteSubscriber(ctx(t), "r003@example.com", ""); err != nil { // never sent
		t.Fatal(err)
	}
	later := digestNow.Add(time.Minute)
	live, err := digesttest.Claim(ctx(t), s, iss.ID, "live", 10000, later, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	claimed := map[int64]bool{}
	for _, d := range live {
		claimed[d.SubscriberID] = true
	}
	var want []int64
	for i, d := range dead {
		if i%3 == 0 && i != 3 {
			want = append(want, d.SubscriberID)
		}
	}
	all, _ := s.ListDeliveries(ctx(t), iss.ID)
	if len(all) != n-1 {
		t.Errorf("ListDeliveries = %d, want %d (the erased one left out)", len(all), n-1)
	}
	for _, d := range all[1500-1:] {
		want = append(want, d.SubscriberID) // never claimed
	}
	slices.Sort(want)
	if got := subscriberIDs(live); !slices.Equal(got, want) {
		t.Fatalf("taken over %d deliveries, want the %d without an outcome", len(got), len(want))
	}
	if counts, _ := s.DeliveryCounts(ctx(t), iss.ID); counts[digest.StateSent] != len(done) || counts[digest.StateSending] != len(want) {
		t.Errorf("counts = %v; want %d sent, %d sending", counts, len(done), len(want))
	}
	if finished, err := s.FinishIssue(ctx(t), iss.ID, later); err != nil || finished {
		t.Fatalf("FinishIssue with deliveries left = %v, %v", finished, err)
	}
	done = done[:0]
	for _, d := range live {
		done = append(done, digest.Completion{SubscriberID: d.SubscriberID, Outcome: digest.Outcome{State: digest.StateSent, MessageID: "y"}})
	}
	if _, err := s.CompleteDeliveries(ctx(t), iss.ID, "live", done, later); err != nil {
		t.Fatal(err)
	}
	if finished, err := s.FinishIssue(ctx(t), iss.ID, later); err != nil || !finished {
		t.Fatalf("FinishIssue = %v, %v", finished, err)
	}
	if counts, _ := s.DeliveryCounts(ctx(t), iss.ID); counts[digest.StateSent] != n-1 || len(counts) != 1 {
		t.Errorf("counts = %v; want %d sent", counts, n-1)
	}
}

// testDigestEndsClaim: a claim's deliveries name it; the outcome that
// ends it deletes it (another worker no longer waits for its lease) when
// its worker still holds it, and the record keeps the attempts given.
func testDigestEndsClaim(t *testing.T, s storage.Storage) {
	iss := seedIssue(t, s, 5)
	ds, err := digesttest.Claim(ctx(t), s, iss.ID, "live", 3, digestNow, time.Minute)
	if err != nil || len(ds) != 3 {
		t.Fatalf("claim = %d, %v", len(ds), err)
	}
	claim := ds[0].Claim
	for _, d := range ds {
		if d.Claim == 0 || d.Claim != claim {
			t.Fatalf("deliveries of one claim name claims %d and %d", claim, d.Claim)
		}
	}
	sent := func(d digest.Delivery, ends bool) digest.Completion {
		return digest.Completion{SubscriberID: d.SubscriberID, Attempts: 2, Claim: d.Claim, EndsClaim: ends,
			Outcome: digest.Outcome{State: digest.StateSent, MessageID: fmt.Sprint(d.SubscriberID, "@x")}}
	}
	waitFor := func(step string, want time.Time) {
		t.Helper()
		if end, err := s.NextLeaseEnd(ctx(t), iss.ID, "other"); err != nil || !end.Equal(want) {
			t.Errorf("%s: NextLeaseEnd = %v, %v; want %v", step, end, err, want)
		}
	}
	if _, err := s.CompleteDeliveries(ctx(t), iss.ID, "live", []digest.Completion{sent(ds[0], false)}, digestNow); err != nil {
		t.Fatal(err)
	}
	waitFor("claim open", digestNow.Add(time.Minute))
	// From a worker that no longer holds the claim, with one delivery
	// recorded already (a duplicate key for the insert without upsert):
	// the new one is recorded, the sent one stays as it was, the claim
	// stays.
	again := sent(ds[0], false)
	again.Outcome.MessageID = "again@x"
	ok, err := s.CompleteDeliveries(ctx(t), iss.ID, "late", []digest.Completion{again, sent(ds[1], true)}, digestNow)
	if err != nil || !slices.Equal(ok, []bool{false, true}) {
		t.Fatalf("CompleteDeliveries with one recorded already = %v, %v; want [false true]", ok, err)
	}
	waitFor("ended by another worker", digestNow.Add(time.Minute))
	// A retry and the last sent one, in one group with its holder.
	ok, err = s.CompleteDeliveries(ctx(t), iss.ID, "live", []digest.Completion{
		{SubscriberID: ds[2].SubscriberID, Outcome: digest.Outcome{State: digest.StatePending, Error: "451", NextAttemptAt: digestNow.Add(time.Hour)},
			Claim: claim, EndsClaim: true},
	}, digestNow)
	if err != nil || !slices.Equal(ok, []bool{true}) {
		t.Fatalf("CompleteDeliveries = %v, %v", ok, err)
	}
	waitFor("claim ended", time.Time{})
	rows, _ := s.ListDeliveries(ctx(t), iss.ID)
	for _, d := range rows[:2] {
		if want := fmt.Sprint(d.SubscriberID, "@x"); d.State != digest.StateSent || d.Attempts != 2 || d.MessageID != want {
			t.Errorf("delivery %d = %s %s after %d attempts, want sent %s after 2", d.SubscriberID, d.State, d.MessageID, d.Attempts, want)
		}
	}
	// The rest of the issue is claimed as before.
	if rest, err := digesttest.Claim(ctx(t), s, iss.ID, "other", 10, digestNow, time.Minute); err != nil || len(rest) != 2 {
		t.Fatalf("claim after the ended claim = %d, %v; want the 2 never claimed", len(rest), err)
	}
}

// testDigestClaimSubscribers: a claim loads the subscribers of its
// deliveries and only those, whether its ids are dense (one range read)
// or sparse (a lookup each), with every list of each.
func testDigestClaimSubscribers(t *testing.T, s storage.Storage) {
	var subs []*subscribers.Subscriber
	for i := range 40 {
		// Readers of s1 at ids 1, 2, 3, 5, 6 …, with one of every four on
		// s2 only (a range read passes over them); and from 20 on, s1
		// only at every tenth id (sparse).
		lists := []subscribers.Subscription{{List: "s1", Active: true, ChangedAt: t0}}
		if i%4 == 3 || (i >= 20 && i%10 != 0) {
			lists = []subscribers.Subscription{{List: "s2", Active: true, ChangedAt: t0}}
		} else if i%2 == 0 {
			lists = append(lists, subscribers.Subscription{List: "s2", Active: false, ChangedAt: t0})
		}
		subs = append(subs, &subscribers.Subscriber{Email: fmt.Sprintf("c%03d@example.com", i), Status: subscribers.StatusActive,
			CreatedAt: t0, Lists: lists})
	}
	if _, _, err := s.InsertSubscribers(ctx(t), subs); err != nil {
		t.Fatal(err)
	}
	iss, _, err := s.CreateIssue(ctx(t), testIssue("s1"), digestNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{8, 100} { // dense first, then the sparse rest
		b, err := s.ClaimBatch(ctx(t), iss.ID, digest.ClaimRequest{Worker: "w", Limit: size, Now: digestNow, Lease: time.Minute})
		if err != nil || len(b.Deliveries) == 0 {
			t.Fatalf("claim of %d = %d, %v", size, len(b.Deliveries), err)
		}
		if len(b.Subscribers) != len(b.Deliveries) {
			t.Errorf("claim of %d: %d deliveries, %d subscribers loaded", size, len(b.Deliveries), len(b.Subscribers))
		}
		for _, d := range b.Deliveries {
			sub := b.Subscribers[d.SubscriberID]
			if sub == nil {
				t.Errorf("claim of %d: subscriber %d not loaded", size, d.SubscriberID)
				continue
			}
			want := 1
			if n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(sub.Email, "c"), "@example.com")); n%2 == 0 {
				want = 2
			}
			if len(sub.Lists) != want || sub.Lists[0].List != "s1" {
				t.Errorf("claim of %d: %s has lists %+v, want %d with s1 first", size, sub.Email, sub.Lists, want)
			}
		}
	}
}
