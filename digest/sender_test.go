package digest_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

// TestSenderFaults sends an issue through a real SMTP server that answers
// 451, 550 at RCPT, or drops the connection, for some recipients.
func TestSenderFaults(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f := newFixture(t, st, "https://news.example.com")
		f.seedArticles(t)
		srv := startSMTP(t)
		ok := []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com"}
		for _, e := range ok {
			f.subscribe(t, e)
		}
		f.subscribe(t, "temp1@example.com")
		f.subscribe(t, "drop1@example.com")
		perm := f.subscribe(t, "perm@example.com")
		f.subscribe(t, "other@example.com", "other") // not on this list
		iss := f.createIssue(t)

		var results sync.Map
		s := digest.NewSender(digest.SenderConfig{Store: st, Compose: f.dg.Compose, Transport: srv.transport(t),
			Workers: 3, Batch: 4, Worker: "w1", Now: f.clock.Now, Backoff: func(int) time.Duration { return time.Minute },
			Faults:   digest.Faults{MaybeDeliveredDelay: time.Minute}, // drop1 is dropped after its DATA: maybe delivered
			OnResult: func(r string) { n, _ := results.LoadOrStore(r, new(atomic.Int64)); n.(*atomic.Int64).Add(1) }})
		rep, err := s.SendIssue(t.Context(), iss, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Sent != 5 || rep.Retry != 2 || rep.Bounced != 1 || rep.Finished {
			t.Fatalf("first pass = %+v; want 5 sent, 2 retries, 1 bounced, not finished", rep)
		}
		if got, _ := st.GetSubscriberByID(t.Context(), perm.ID); got.Status != subscribers.StatusBounced || got.BounceCount != 1 {
			t.Errorf("550 at RCPT: subscriber %s, bounce_count %d", got.Status, got.BounceCount)
		}
		// Retries wait for their time.
		if rep, _ := s.SendIssue(t.Context(), iss, nil); rep.Sent+rep.Retry != 0 {
			t.Errorf("retried before the backoff: %+v", rep)
		}
		f.clock.Add(time.Minute)
		rep, err = s.SendIssue(t.Context(), iss, nil)
		if err != nil || rep.Sent != 2 || !rep.Finished {
			t.Fatalf("second pass = %+v, %v; want 2 sent, finished", rep, err)
		}
		for _, e := range append(ok, "temp1@example.com", "drop1@example.com") {
			ms := srv.received(e)
			if len(ms) != 1 {
				t.Errorf("%s got %d messages, want 1", e, len(ms))
				continue
			}
			h := ms[0].Header
			if h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || h.Get("List-Unsubscribe") == "" {
				t.Errorf("%s: List-Unsubscribe headers missing", e)
			}
		}
		if n := len(srv.received("perm@example.com")) + len(srv.received("other@example.com")); n != 0 {
			t.Errorf("bounced or unlisted recipients got %d messages", n)
		}
		ds, _ := st.ListDeliveries(t.Context(), iss.ID)
		for _, d := range ds {
			if d.SubscriberID == perm.ID {
				if d.State != digest.StateFailed || d.LastError == "" {
					t.Errorf("bounced delivery = %+v", d)
				}
				continue
			}
			if d.State != digest.StateSent || d.MessageID != f.dg.MessageID(iss.ID, d.SubscriberID) {
				t.Errorf("delivery = %+v", d)
			}
		}
		if got, _ := st.GetIssue(t.Context(), iss.ID); got.Status != digest.IssueSent {
			t.Errorf("issue status %s", got.Status)
		}
		for r, want := range map[string]int64{digest.ResultSent: 7, digest.ResultRetry: 2, digest.ResultBounced: 1} {
			n, _ := results.Load(r)
			if n == nil || n.(*atomic.Int64).Load() != want {
				t.Errorf("OnResult(%s) count = %v, want %d", r, n, want)
			}
		}
	})
}

// TestSenderGivesUp: a recipient that keeps failing temporarily fails for
// good after MaxAttempts.
func TestSenderGivesUp(t *testing.T) {
	st := storagetest.SQLite(t)
	f := newFixture(t, st, "https://news.example.com")
	f.seedArticles(t)
	srv := startSMTP(t)
	f.subscribe(t, "temp99@example.com")
	iss := f.createIssue(t)
	s := digest.NewSender(digest.SenderConfig{Store: st, Compose: f.dg.Compose, Transport: srv.transport(t),
		MaxAttempts: 3, Now: f.clock.Now, Backoff: func(int) time.Duration { return time.Second }})
	var rep digest.Report
	for range 3 {
		r, err := s.SendIssue(t.Context(), iss, nil)
		if err != nil {
			t.Fatal(err)
		}
		rep = r
		f.clock.Add(time.Second)
	}
	if rep.Failed != 1 || !rep.Finished {
		t.Errorf("third attempt = %+v; want failed, finished", rep)
	}
}

// TestSenderSkipsUnsubscribed: someone who unsubscribes after the issue
// was created (recipients snapshotted) gets nothing.
func TestSenderSkipsUnsubscribed(t *testing.T) {
	st := storagetest.SQLite(t)
	f := newFixture(t, st, "https://news.example.com")
	f.seedArticles(t)
	srv := startSMTP(t)
	f.subscribe(t, "stays@example.com")
	leaver := f.subscribe(t, "leaves@example.com", series, "other")
	iss := f.createIssue(t)
	u, err := f.subs.UnsubscribeURL(leaver, series)
	if err != nil {
		t.Fatal(err)
	}
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	tok := pu.Query().Get("token")
	if _, err := f.subs.Unsubscribe(t.Context(), tok, false); err != nil {
		t.Fatal(err)
	}
	rep, err := f.sender(srv.transport(t), st, "w").SendIssue(t.Context(), iss, nil)
	if err != nil || rep.Sent != 1 || rep.Skipped != 1 || !rep.Finished {
		t.Fatalf("report = %+v, %v; want 1 sent, 1 skipped", rep, err)
	}
	if n := len(srv.received("leaves@example.com")); n != 0 {
		t.Errorf("unsubscribed reader got %d messages", n)
	}
}

// crashStore is the outbox of a process that dies: once crashed, every
// write fails, as nothing the dead process does reaches the database.
type crashStore struct {
	digest.Store
	crashed *atomic.Bool
}

var errCrashed = errors.New("process crashed")

func (c crashStore) CompleteDeliveries(ctx context.Context, id, w string, done []digest.Completion, now time.Time) ([]bool, error) {
	if c.crashed.Load() {
		return nil, errCrashed
	}
	return c.Store.CompleteDeliveries(ctx, id, w, done, now)
}

func (c crashStore) RenewClaims(ctx context.Context, id, w string, now time.Time, l time.Duration) (int, error) {
	if c.crashed.Load() {
		return 0, errCrashed
	}
	return c.Store.RenewClaims(ctx, id, w, now, l)
}

func (c crashStore) ReleaseDeliveries(ctx context.Context, id, w string, now time.Time) (int, error) {
	if c.crashed.Load() {
		return 0, errCrashed
	}
	return c.Store.ReleaseDeliveries(ctx, id, w, now)
}

func (c crashStore) FinishIssue(ctx context.Context, id string, now time.Time) (bool, error) {
	if c.crashed.Load() {
		return false, errCrashed
	}
	return c.Store.FinishIssue(ctx, id, now)
}

// crashTransport sends until the crash; the send that trips it (and any
// already in its SMTP transaction) goes out, nothing after it does.
type crashTransport struct {
	mail.Transport
	after   int64
	sent    atomic.Int64
	crashed *atomic.Bool
}

func (c *crashTransport) Send(ctx context.Context, m *mail.Message) error {
	if c.crashed.Load() {
		return &mail.Error{Op: "connect", Temporary: true, Err: errCrashed}
	}
	err := c.Transport.Send(ctx, m)
	if c.sent.Add(1) >= c.after {
		c.crashed.Store(true)
	}
	return err
}

// newSendFixture is a fixture with the stories seeded, n readers
// (subscribeMany), a recording SMTP server, and the week's issue.
func newSendFixture(t *testing.T, st storage.Storage, n int) (*fixture, *smtpServer, []string, *digest.Issue) {
	f := newFixture(t, st, "https://news.example.com")
	f.seedArticles(t)
	srv := startSMTP(t)
	all := subscribeMany(t, f, n)
	return f, srv, all, f.createIssue(t)
}

func subscribeMany(t *testing.T, f *fixture, n int) []string {
	var out []string
	for i := range n {
		e := fmt.Sprintf("r%02d@example.com", i)
		f.subscribe(t, e)
		out = append(out, e)
	}
	return out
}

// TestCrashResume kills a sender mid-issue (its in-flight mail goes out but
// is never recorded; its claims stay sending) and starts another after the
// lease: everyone gets the issue, only the in-flight ones twice.
func TestCrashResume(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f, srv, all, iss := newSendFixture(t, st, 30)

		var crashed atomic.Bool
		dead := f.sender(&crashTransport{Transport: srv.transport(t), after: 10, crashed: &crashed},
			crashStore{Store: st, crashed: &crashed}, "dead")
		if _, err := dead.SendIssue(t.Context(), iss, nil); !errors.Is(err, errCrashed) {
			t.Fatalf("crashed sender returned %v", err)
		}
		before := srv.total()
		counts, _ := st.DeliveryCounts(t.Context(), iss.ID)
		t.Logf("at the crash: %d messages out, outbox %v", before, counts)
		if counts[digest.StateSending] == 0 {
			t.Fatal("the crash left nothing sending; the test proves nothing")
		}

		// A new process before the lease ends takes nothing over …
		fresh := f.sender(srv.transport(t), st, "fresh")
		rep, err := fresh.SendIssue(t.Context(), iss, nil)
		if err != nil || rep.Finished {
			t.Fatalf("before the lease ran out: %+v, %v", rep, err)
		}
		// … and after it, finishes the issue.
		f.clock.Add(5 * time.Minute)
		rep, err = fresh.SendIssue(t.Context(), iss, nil)
		if err != nil || !rep.Finished {
			t.Fatalf("after the lease: %+v, %v", rep, err)
		}
		twice := 0
		for _, e := range all {
			switch n := len(srv.received(e)); n {
			case 1:
			case 2:
				twice++
			default:
				t.Errorf("%s got %d messages", e, n)
			}
		}
		// In flight at the crash: at most one per worker.
		if twice > 3 {
			t.Errorf("%d readers got the issue twice, want at most 3 (the workers in flight)", twice)
		}
		t.Logf("sent twice (in flight at the crash): %d of %d", twice, len(all))
		for _, e := range all {
			if ms := srv.received(e); len(ms) == 2 && ms[0].Header.Get("Message-Id") != ms[1].Header.Get("Message-Id") {
				t.Errorf("%s: the resent copy has another Message-ID", e)
			}
		}
	})
}

// slowTransport takes a while per message, so that a shutdown lands
// mid-issue.
type slowTransport struct {
	mail.Transport
	sent   atomic.Int64
	onSend func(n int64)
}

func (s *slowTransport) Send(ctx context.Context, m *mail.Message) error {
	time.Sleep(20 * time.Millisecond)
	err := s.Transport.Send(ctx, m)
	s.onSend(s.sent.Add(1))
	return err
}

// TestShutdownHandsBack cancels a sender mid-issue: sends in flight finish
// and are recorded, unsent claims are handed back, and a second sender
// (no lease to wait for) sends each reader exactly one copy.
func TestShutdownHandsBack(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f, srv, all, iss := newSendFixture(t, st, 24)
		ctx, cancel := context.WithCancel(t.Context())
		tr := &slowTransport{Transport: srv.transport(t), onSend: func(n int64) {
			if n == 8 {
				cancel()
			}
		}}
		rep, err := f.sender(tr, st, "a").SendIssue(ctx, iss, nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled sender: %v", err)
		}
		if rep.Finished || rep.Sent < 8 || rep.Sent == 24 {
			t.Fatalf("cancelled sender report %+v", rep)
		}
		counts, _ := st.DeliveryCounts(t.Context(), iss.ID)
		if counts[digest.StateSending] != 0 {
			t.Errorf("after shutdown %d deliveries still claimed", counts[digest.StateSending])
		}
		rep2, err := f.sender(srv.transport(t), st, "b").SendIssue(t.Context(), iss, nil)
		if err != nil || !rep2.Finished || rep.Sent+rep2.Sent != 24 {
			t.Fatalf("second sender %+v, %v (first sent %d)", rep2, err, rep.Sent)
		}
		for _, e := range all {
			if n := len(srv.received(e)); n != 1 {
				t.Errorf("%s got %d messages, want exactly 1", e, n)
			}
		}
	})
}

// TestRateLimit: the limiter spaces sends.
func TestRateLimit(t *testing.T) {
	st := storagetest.SQLite(t)
	f, srv, _, iss := newSendFixture(t, st, 6)
	s := digest.NewSender(digest.SenderConfig{Store: st, Compose: f.dg.Compose, Transport: srv.transport(t),
		Limiter: rate.NewLimiter(20, 1), Workers: 4, Now: f.clock.Now})
	start := time.Now()
	rep, err := s.SendIssue(t.Context(), iss, nil)
	if err != nil || rep.Sent != 6 {
		t.Fatal(rep, err)
	}
	if took := time.Since(start); took < 240*time.Millisecond {
		t.Errorf("6 messages at 20/s took %v, want ≥ 250ms", took)
	}
}

// TestResume sends every unfinished issue, as serve does at start-up.
func TestResume(t *testing.T) {
	st := storagetest.SQLite(t)
	f, srv, _, iss := newSendFixture(t, st, 3)
	if err := f.sender(srv.transport(t), st, "r").Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetIssue(t.Context(), iss.ID); got.Status != digest.IssueSent || srv.total() != 3 {
		t.Errorf("after Resume: issue %s, %d messages", got.Status, srv.total())
	}
}

// endsStore watches the outcomes a sender records and, as the issue
// finishes, whether any claim was left for FinishIssue to clean up.
type endsStore struct {
	digest.Store
	mu       sync.Mutex
	claimOf  map[int64]int64 // subscriber → claim, from the deliveries claimed
	ended    map[int64]int   // claim → times named by EndsClaim
	recorded map[int64]int   // claim → outcomes recorded
	leftOver time.Time       // NextLeaseEnd for another worker, as FinishIssue starts
}

func (e *endsStore) ClaimBatch(ctx context.Context, id string, req digest.ClaimRequest) (digest.Batch, error) {
	b, err := e.Store.ClaimBatch(ctx, id, req)
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, d := range b.Deliveries {
		e.claimOf[d.SubscriberID] = d.Claim
	}
	return b, err
}

func (e *endsStore) CompleteDeliveries(ctx context.Context, id, w string, done []digest.Completion, now time.Time) ([]bool, error) {
	e.mu.Lock()
	for _, c := range done {
		e.recorded[e.claimOf[c.SubscriberID]]++
		if c.EndsClaim {
			e.ended[c.Claim]++
		}
	}
	e.mu.Unlock()
	return e.Store.CompleteDeliveries(ctx, id, w, done, now)
}

func (e *endsStore) FinishIssue(ctx context.Context, id string, now time.Time) (bool, error) {
	end, err := e.Store.NextLeaseEnd(ctx, id, "another")
	if err != nil {
		return false, err
	}
	e.mu.Lock()
	e.leftOver = end
	e.mu.Unlock()
	return e.Store.FinishIssue(ctx, id, now)
}

// TestSenderEndsClaims: the sender ends each claim with the group that
// records its last outcome, so no claim is left for the issue's end.
func TestSenderEndsClaims(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f, srv, all, iss := newSendFixture(t, st, 30)
		es := &endsStore{Store: st, claimOf: map[int64]int64{}, ended: map[int64]int{}, recorded: map[int64]int{}}
		rep, err := f.sender(srv.transport(t), es, "w").SendIssue(t.Context(), iss, nil)
		if err != nil || !rep.Finished || rep.Sent != len(all) {
			t.Fatalf("SendIssue = %+v, %v", rep, err)
		}
		if len(es.recorded) != 5 { // 30 readers, claims of 6
			t.Errorf("outcomes of %d claims, want 5: %v", len(es.recorded), es.recorded)
		}
		for claim, n := range es.recorded {
			if claim == 0 || n != 6 || es.ended[claim] != 1 {
				t.Errorf("claim %d: %d outcomes, ended %d times; want 6 outcomes, ended once", claim, n, es.ended[claim])
			}
		}
		if !es.leftOver.IsZero() {
			t.Errorf("as the issue finished a claim was still held until %v", es.leftOver)
		}
	})
}

// limitStore records the size of each claim a sender asks for.
type limitStore struct {
	digest.Store
	mu     sync.Mutex
	limits []int
}

func (l *limitStore) ClaimBatch(ctx context.Context, id string, req digest.ClaimRequest) (digest.Batch, error) {
	l.mu.Lock()
	l.limits = append(l.limits, req.Limit)
	l.mu.Unlock()
	return l.Store.ClaimBatch(ctx, id, req)
}

// TestClaimSize: claims are large unless a rate cap would make one
// outlast a couple of seconds (replicas under a cap each get a part).
func TestClaimSize(t *testing.T) {
	srv := startSMTP(t)
	for _, c := range []struct {
		name    string
		limiter *rate.Limiter
		workers int
		want    int
	}{
		{"no cap", nil, 4, digest.DefaultBatch},
		{"uncapped limiter", rate.NewLimiter(rate.Inf, 1), 4, digest.DefaultBatch},
		{"25 a second", rate.NewLimiter(25, 3), 4, 50},
		{"1 a second, 8 workers", rate.NewLimiter(1, 3), 8, 16},
	} {
		st := storagetest.SQLite(t)
		f := newFixture(t, st, "https://news.example.com")
		f.seedArticles(t)
		subscribeMany(t, f, 3)
		ls := &limitStore{Store: st}
		iss := f.createIssue(t)
		s := digest.NewSender(digest.SenderConfig{Store: ls, Compose: f.dg.Compose, Transport: srv.transport(t),
			Limiter: c.limiter, Workers: c.workers, Now: f.clock.Now})
		if _, err := s.SendIssue(t.Context(), iss, nil); err != nil {
			t.Fatal(err)
		}
		if len(ls.limits) == 0 || ls.limits[0] != c.want {
			t.Errorf("%s: claims of %v, want %d", c.name, ls.limits, c.want)
		}
	}
}

// TestReplicaWaitsBriefly: a replica with nothing left to claim while
// another still sends (a live worker renewing its 30 s lease) finishes
// soon after the other does, not a third of a lease later.
func TestReplicaWaitsBriefly(t *testing.T) {
	st := storagetest.SQLite(t)
	f, srv, _, iss := newSendFixture(t, st, 12)
	claimed := make(chan struct{})
	slow := &slowTransport{Transport: srv.transport(t), onSend: func(n int64) {
		if n == 1 {
			close(claimed)
		}
	}}
	newSender := func(tr mail.Transport, worker string) *digest.Sender {
		return digest.NewSender(digest.SenderConfig{Store: st, Compose: f.dg.Compose, Transport: tr, Workers: 1,
			Batch: 12, Lease: 30 * time.Second, Worker: worker, Now: time.Now, WaitForLeases: true})
	}
	var slowDone time.Time
	var wg sync.WaitGroup
	wg.Go(func() {
		// Takes every delivery in one claim, at 20 ms each.
		if _, err := newSender(slow, "slow").SendIssue(t.Context(), iss, nil); err != nil {
			t.Error(err)
		}
		slowDone = time.Now()
	})
	<-claimed
	rep, err := newSender(srv.transport(t), "waiting").SendIssue(t.Context(), iss, nil)
	waitedDone := time.Now()
	wg.Wait()
	if err != nil || rep.Sent != 0 || !rep.Finished {
		t.Fatalf("waiting replica: %+v, %v; want the issue finished by the other", rep, err)
	}
	if late := waitedDone.Sub(slowDone); late > 5*time.Second {
		t.Errorf("the waiting replica finished %v after the other, want within a couple of seconds (a lease is 30 s)", late)
	}
}
