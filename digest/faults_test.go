package digest_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/digest/digesttest"
	"github.com/syndicated/syndicated/internal/smtptest"
	"github.com/syndicated/syndicated/mail/hermes"
	smtpmail "github.com/syndicated/syndicated/mail/smtp"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

// syncBuf is a log destination for concurrent workers.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuf) Write(p []byte) (int, error) { w.mu.Lock(); defer w.mu.Unlock(); return w.b.Write(p) }
func (w *syncBuf) String() string              { w.mu.Lock(); defer w.mu.Unlock(); return w.b.String() }

// faultSender sends through the scripted server srv (urlExtra adds smtp.url
// parameters) and logs into the returned buffer.
func (f *fixture) faultSender(t *testing.T, srv *smtptest.Server, urlExtra string, faults digest.Faults) (*digest.Sender, *syncBuf) {
	t.Helper()
	tr, err := smtpmail.New(smtpmail.Config{URL: srv.URL() + urlExtra, From: "Shanghai Daily <news@example.com>", Conns: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	logs := &syncBuf{}
	return digest.NewSender(digest.SenderConfig{Store: f.st, Compose: f.dg.Compose, Transport: tr,
		Workers: 3, Batch: 6, Worker: "w1", Now: f.clock.Now, Faults: faults,
		Backoff: func(int) time.Duration { return time.Minute },
		Log:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}), logs
}

func (f *fixture) states(t *testing.T, iss *digest.Issue) map[digest.State]int {
	t.Helper()
	c, err := f.st.DeliveryCounts(t.Context(), iss.ID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) countStatus(t *testing.T, st subscribers.Status) int {
	t.Helper()
	n, err := f.st.CountSubscribers(t.Context(), subscribers.Filter{Status: st})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRelayRefusalStopsTheRun: a relay answering "554 5.7.1 Relay access
// denied" to every recipient bounces nobody; the breaker stops the run
// after the first few, leaves the rest pending, and says why. Undoing and
// retrying then delivers everything once.
func TestRelayRefusalStopsTheRun(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f := newFixture(t, st, "https://news.example.com")
		f.seedArticles(t)
		relay := smtptest.NewSwitch(smtptest.Reply(554, 5, 7, 1, "Relay access denied"))
		srv := smtptest.Start(t, smtptest.Script{Rcpt: relay.Rcpt})
		for i := range 20 {
			f.subscribe(t, fmt.Sprintf("reader%02d@example.org", i))
		}
		iss := f.createIssue(t)
		s, logs := f.faultSender(t, srv, "", digest.Faults{})
		rep, err := s.SendIssue(t.Context(), iss, nil)
		var be *digest.BreakerError
		if !errors.As(err, &be) || !errors.Is(err, digest.ErrBreakerOpen) || !strings.Contains(err.Error(), "554 5.7.1 Relay access denied") {
			t.Fatalf("SendIssue: %v (%+v), want the breaker's error with the reply", err, rep)
		}
		if rep.Bounced != 0 || rep.Sent != 0 || rep.Finished {
			t.Errorf("report %+v: want no bounce, nothing sent, not finished", rep)
		}
		c := f.states(t, iss)
		// The breaker trips at the 5th failure; the other 2 workers may each
		// have had a send in flight then, which fails too.
		if c[digest.StateFailed] < 5 || c[digest.StateFailed] > 7 || c[digest.StatePending] != 20-c[digest.StateFailed] || c[digest.StateSending] != 0 {
			t.Errorf("outbox %v: want the first 5-7 failed, the rest pending", c)
		}
		if n := f.countStatus(t, subscribers.StatusBounced); n != 0 {
			t.Errorf("%d subscribers bounced by a relay refusal", n)
		}
		if !strings.Contains(logs.String(), "level=WARN msg=\"digest: deliveries failed in this batch\"") ||
			!strings.Contains(logs.String(), "level=WARN msg=\"digest: sending stopped (circuit breaker)\"") ||
			!strings.Contains(logs.String(), "Relay access denied") || strings.Contains(logs.String(), "@example.org") {
			t.Errorf("log lacks the batch warning with the reply, or shows an address:\n%s", logs)
		}
		// The status says what failed, with the server's reply.
		r, err := digest.Status(t.Context(), st, iss, f.clock.Now())
		if err != nil || len(r.Failures) != 1 || r.Failures[0].State != digest.StateFailed || !strings.Contains(r.Failures[0].Error, "554 5.7.1 Relay access denied") || r.Due != c[digest.StatePending] {
			t.Fatalf("status %+v, %v", r, err)
		}
		// The same sender leaves the issue alone for BreakerPause: the
		// daemon's next polls fail nobody else.
		rep, err = s.SendIssue(t.Context(), iss, nil)
		if !errors.As(err, &be) || be.PausedUntil.IsZero() || rep != (digest.Report{}) {
			t.Fatalf("within the pause: %+v, %v", rep, err)
		}
		if got := f.states(t, iss); got[digest.StateFailed] != c[digest.StateFailed] {
			t.Errorf("within the pause: %v, was %v", got, c)
		}
		f.clock.Add(31 * time.Minute)
		// Fixed relay: retry-failed and send again; everyone gets one copy.
		relay.Set(false)
		if n, err := st.RetryFailed(t.Context(), iss.ID, f.clock.Now()); err != nil || n != c[digest.StateFailed] {
			t.Fatalf("RetryFailed = %d, %v", n, err)
		}
		rep, err = s.SendIssue(t.Context(), iss, nil)
		if err != nil || rep.Sent != 20 || !rep.Finished || len(srv.Received()) != 20 {
			t.Fatalf("after the fix: %+v, %v, %d received", rep, err, len(srv.Received()))
		}
	})
}

// TestOnlyUnknownMailboxesBounce: 5.1.1 bounces its subscriber, 5.7.1 and
// 5.2.2 fail their delivery alone; unbounce undoes a bounce.
func TestOnlyUnknownMailboxesBounce(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f := newFixture(t, st, "https://news.example.com")
		f.seedArticles(t)
		srv := smtptest.Start(t, smtptest.Script{Rcpt: func(to string) error {
			switch {
			case strings.HasPrefix(to, "gone@"):
				return smtptest.Reply(550, 5, 1, 1, "User unknown")
			case strings.HasPrefix(to, "policy@"):
				return smtptest.Reply(550, 5, 7, 1, "Rejected by policy")
			case strings.HasPrefix(to, "full@"):
				return smtptest.Reply(552, 5, 2, 2, "Mailbox full")
			}
			return nil
		}})
		for _, e := range []string{"a@example.org", "b@example.org", "c@example.org", "d@example.org", "gone@example.org", "policy@example.org", "full@example.org"} {
			f.subscribe(t, e)
		}
		iss := f.createIssue(t)
		s, logs := f.faultSender(t, srv, "", digest.Faults{})
		rep, err := s.SendIssue(t.Context(), iss, nil)
		if err != nil || rep.Sent != 4 || rep.Bounced != 1 || rep.Failed != 2 || !rep.Finished {
			t.Fatalf("report %+v, %v: want 4 sent, 1 bounced, 2 failed", rep, err)
		}
		for e, want := range map[string]subscribers.Status{"gone@example.org": subscribers.StatusBounced,
			"policy@example.org": subscribers.StatusActive, "full@example.org": subscribers.StatusActive} {
			if got, _ := st.GetSubscriber(t.Context(), e); got.Status != want {
				t.Errorf("%s: %s, want %s", e, got.Status, want)
			}
		}
		if !strings.Contains(logs.String(), "digest: subscriber bounced") {
			t.Errorf("the bounce is not logged:\n%s", logs)
		}
		// unbounce by time: the run's bounces are undone.
		done, err := f.subs.Unbounce(t.Context(), nil, now0.Add(-time.Minute))
		if err != nil || len(done) != 1 || done[0] != "gone@example.org" {
			t.Fatalf("Unbounce = %v, %v", done, err)
		}
		if got, _ := st.GetSubscriber(t.Context(), "gone@example.org"); got.Status != subscribers.StatusActive || got.BounceCount != 0 {
			t.Errorf("after unbounce: %s, bounce_count %d", got.Status, got.BounceCount)
		}
		if done, err := f.subs.Unbounce(t.Context(), []string{"A@example.org"}, time.Time{}); err != nil || len(done) != 0 {
			t.Errorf("unbounce of an active subscriber: %v, %v", done, err)
		}
	})
}

// TestMaybeDeliveredWaits: a server that takes longer than data_timeout to
// answer the final "." (but keeps the message) is not sent a second copy
// at once: the delivery waits MaybeDeliveredDelay.
func TestMaybeDeliveredWaits(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f := newFixture(t, st, "https://news.example.com")
		f.seedArticles(t)
		srv := smtptest.Start(t, smtptest.Script{Data: func([]string, []byte) error {
			time.Sleep(1200 * time.Millisecond)
			return nil
		}})
		f.subscribe(t, "slow@example.org")
		iss := f.createIssue(t)
		s, _ := f.faultSender(t, srv, "&data_timeout=300ms", digest.Faults{MaybeDeliveredDelay: 2 * time.Hour})
		rep, err := s.SendIssue(t.Context(), iss, nil)
		if err != nil || rep.Retry != 1 {
			t.Fatalf("report %+v, %v", rep, err)
		}
		ds, _ := st.ListDeliveries(t.Context(), iss.ID)
		if len(ds) != 1 || ds[0].State != digest.StatePending || !ds[0].NextAttemptAt.Equal(now0.Add(2*time.Hour)) ||
			!strings.Contains(ds[0].LastError, "maybe delivered") {
			t.Fatalf("delivery %+v: want pending until +2h, maybe delivered", ds)
		}
		f.clock.Add(time.Hour)
		if rep, _ := s.SendIssue(t.Context(), iss, nil); rep.Sent+rep.Retry != 0 {
			t.Errorf("retried within the delay: %+v", rep)
		}
		time.Sleep(1200 * time.Millisecond) // the server stores the first copy
		if n := len(srv.Received()); n != 1 {
			t.Errorf("server has %d copies, want 1", n)
		}
	})
}

// TestRetriesEndByAge: a recipient answered 451 keeps being retried until
// digest.max_retry_age, then fails for good, logged as a give-up.
func TestRetriesEndByAge(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f := newFixture(t, st, "https://news.example.com")
		f.seedArticles(t)
		srv := smtptest.Start(t, smtptest.Script{Rcpt: func(string) error {
			return smtptest.Reply(451, 4, 3, 0, "Try again later")
		}})
		f.subscribe(t, "later@example.org")
		iss := f.createIssue(t)
		s, logs := f.faultSender(t, srv, "", digest.Faults{MaxRetryAge: 3 * time.Hour})
		for range 3 { // an outage of two hours does not end the retries
			if rep, err := s.SendIssue(t.Context(), iss, nil); err != nil || rep.Retry != 1 {
				t.Fatalf("retry: %+v, %v", rep, err)
			}
			f.clock.Add(time.Hour)
		}
		rep, err := s.SendIssue(t.Context(), iss, nil)
		if err != nil || rep.Failed != 1 || !rep.Finished {
			t.Fatalf("after max_retry_age: %+v, %v", rep, err)
		}
		ds, _ := st.ListDeliveries(t.Context(), iss.ID)
		if !strings.Contains(ds[0].LastError, "gave up after 3h0m0s") || !strings.Contains(ds[0].LastError, "451 4.3.0 Try again later") {
			t.Errorf("last error %q", ds[0].LastError)
		}
		if !strings.Contains(logs.String(), "digest: delivery given up") {
			t.Errorf("the give-up is not logged:\n%s", logs)
		}
		if got, _ := st.GetSubscriber(t.Context(), "later@example.org"); got.Status != subscribers.StatusActive {
			t.Errorf("subscriber %s after temporary failures", got.Status)
		}
	})
}

// TestUnsubscribeMailbox: the mailto: List-Unsubscribe is advertised only
// when a processed mailbox is configured.
func TestUnsubscribeMailbox(t *testing.T) {
	st := storagetest.SQLite(t)
	f := newFixture(t, st, "https://news.example.com")
	f.seedArticles(t)
	sub := f.subscribe(t, "reader@example.org")
	p, err := f.dg.Plan(t.Context(), series, digest.WeekOf(f.clock.Now(), newsroom), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.dg.Message(p, sub)
	if err != nil || !strings.HasPrefix(m.Headers["List-Unsubscribe"], "<https://news.example.com/unsubscribe?") || strings.Contains(m.Headers["List-Unsubscribe"], "mailto:") {
		t.Fatalf("without a mailbox: %q, %v", m.Headers["List-Unsubscribe"], err)
	}
	dg, err := digest.New(digest.Config{Store: st, Articles: st, Subscribers: f.subs, BaseURL: "https://news.example.com",
		Series: []digest.Series{{Slug: series, Title: "T"}}, Renderer: hermes.New(hermes.Brand{Name: "S"}), Zone: newsroom,
		From: "Shanghai Daily <news@example.com>", UnsubscribeMailbox: "unsubscribe@example.com", Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	m, err = dg.Message(p, sub)
	if err != nil || !strings.Contains(m.Headers["List-Unsubscribe"], ", <mailto:unsubscribe@example.com?subject=unsubscribe>") {
		t.Fatalf("with a mailbox: %q, %v", m.Headers["List-Unsubscribe"], err)
	}
}

// TestStatusTellsRetriesFromLeases: a delivery waiting for its retry time
// and one held by another worker's lease are reported apart.
func TestStatusTellsRetriesFromLeases(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f := newFixture(t, st, "https://news.example.com")
		f.seedArticles(t)
		srv := smtptest.Start(t, smtptest.Script{Rcpt: func(to string) error {
			if strings.HasPrefix(to, "later@") {
				return smtptest.Reply(451, 4, 7, 1, "Greylisted")
			}
			return nil
		}})
		f.subscribe(t, "held@example.org")
		f.subscribe(t, "later@example.org")
		f.subscribe(t, "ok@example.org")
		iss := f.createIssue(t)
		// Another worker holds the first delivery.
		held, err := digesttest.Claim(t.Context(), st, iss.ID, "other-replica", 1, f.clock.Now(), 10*time.Minute)
		if err != nil || len(held) != 1 {
			t.Fatal(held, err)
		}
		s, _ := f.faultSender(t, srv, "", digest.Faults{})
		rep, err := s.SendIssue(t.Context(), iss, nil)
		if err != nil || rep.Sent != 1 || rep.Retry != 1 || rep.Finished {
			t.Fatalf("report %+v, %v", rep, err)
		}
		r, err := digest.Status(t.Context(), st, iss, f.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if r.Waiting != 1 || !r.NextRetry.Equal(now0.Add(time.Minute)) || r.Leased != 1 || !r.LeaseUntil.Equal(now0.Add(10*time.Minute)) || r.Due != 0 {
			t.Errorf("status %+v: want 1 waiting until +1m, 1 leased until +10m", r)
		}
		if len(r.Failures) != 1 || r.Failures[0].State != digest.StatePending || !strings.Contains(r.Failures[0].Error, "451 4.7.1 Greylisted") {
			t.Errorf("failures %+v", r.Failures)
		}
	})
}
