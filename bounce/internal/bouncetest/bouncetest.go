// Package bouncetest is what the tests of the bounce packages share: a
// real store (each backend), the real subscriber service, the processor,
// issues whose copies were sent, and a log that tests read.
package bouncetest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syndicated/syndicated/bounce"
	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/digest/digesttest"
	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/mail/hermes"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/subscribers"
)

// Secret is the fixtures' HMAC secret.
var Secret = []byte("bounce-test-secret-0123456789")

// Address is the fixtures' bounce.address.
const Address = "bounces@bounce.example.org"

// Lists are the fixtures' lists.
var Lists = []subscribers.List{{Slug: "shanghai-70th", Title: "Shanghai 70th anniversary series"}, {Slug: "other", Title: "Other"}}

// T0 is when the fixtures' clock starts: Monday 27 May 2019, 01:00 UTC.
var T0 = time.Date(2019, 5, 27, 1, 0, 0, 0, time.UTC)

// Fixture is a processor on a real store.
type Fixture struct {
	Store storage.Storage
	Subs  *subscribers.Service
	VERP  *bounce.VERP
	Proc  *bounce.Processor
	Log   *Log
	Count *Counter

	mu  sync.Mutex
	now time.Time
}

// New builds a fixture on st with the default soft policy.
func New(t testing.TB, st storage.Storage) *Fixture {
	return NewWith(t, st, bounce.SoftPolicy{})
}

// NewWith builds a fixture on st with soft policy pol.
func NewWith(t testing.TB, st storage.Storage, pol bounce.SoftPolicy) *Fixture {
	t.Helper()
	f := &Fixture{Store: st, Log: &Log{}, Count: &Counter{n: map[string]int{}}, now: T0}
	var err error
	f.Subs, err = subscribers.New(subscribers.Config{
		Store: st, Mailer: nop{}, Secret: Secret, BaseURL: "https://news.example.com",
		Confirmation: hermes.New(hermes.Brand{Name: "News", Link: "https://news.example.com/"}),
		Lists:        Lists, Now: f.Now, SyncMail: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.VERP, err = bounce.NewVERP(Address, Secret, true); err != nil {
		t.Fatal(err)
	}
	f.Proc, err = bounce.NewProcessor(bounce.Config{Store: st, Subscribers: f.Subs, VERP: f.VERP, Soft: pol,
		Observer: f.Count, Now: f.Now, Log: slog.New(slog.NewTextHandler(f.Log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Now is the fixture's clock.
func (f *Fixture) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }

// Advance moves the clock.
func (f *Fixture) Advance(d time.Duration) { f.mu.Lock(); f.now = f.now.Add(d); f.mu.Unlock() }

// Subscriber adds an active subscriber of lists (default: every list).
func (f *Fixture) Subscriber(t testing.TB, email string, lists ...string) *subscribers.Subscriber {
	t.Helper()
	if len(lists) == 0 {
		for _, l := range Lists {
			lists = append(lists, l.Slug)
		}
	}
	sub, err := f.Subs.Add(context.Background(), email, "", lists, true)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// MessageID is the Message-ID the digest gives the issue's copy to the
// subscriber (digest.Service.MessageID on news.example.com).
func MessageID(issueID string, subscriberID int64) string {
	return fmt.Sprintf("digest.%s.%d@news.example.com", strings.ReplaceAll(issueID, "/", "."), subscriberID)
}

// Issue creates the series' issue of week w (its recipients: the
// series' active subscribers) and records every copy sent, with its
// Message-ID.
func (f *Fixture) Issue(t testing.TB, series string, w int) *digest.Issue {
	t.Helper()
	ctx := context.Background()
	week := digest.Week{Year: 2019, Num: w}
	start := week.Start(time.UTC)
	iss, _, err := f.Store.CreateIssue(ctx, digest.Issue{ID: digest.IssueID(series, week), Series: series, Week: week,
		Since: start.Add(-7 * 24 * time.Hour), Until: start, Content: &digest.Content{Subject: "Digest"}}, start)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := digesttest.Claim(ctx, f.Store, iss.ID, "bouncetest", 1000, start.Add(time.Hour), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		o := digest.Outcome{State: digest.StateSent, MessageID: MessageID(iss.ID, d.SubscriberID)}
		if ok, err := digesttest.Complete(ctx, f.Store, iss.ID, d.SubscriberID, "bouncetest", o, start.Add(time.Hour)); err != nil || !ok {
			t.Fatalf("complete delivery: %v %v", ok, err)
		}
	}
	return iss
}

// Returns is what the digest configures for VERP: the fixture's.
func (f *Fixture) Returns() digest.ReturnAddresses { return f.VERP }

// Get reloads a subscriber.
func (f *Fixture) Get(t testing.TB, id int64) *subscribers.Subscriber {
	t.Helper()
	sub, err := f.Store.GetSubscriberByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// Events are the subscriber's events.
func (f *Fixture) Events(t testing.TB, id int64) []bounce.Event {
	t.Helper()
	evs, err := f.Store.SubscriberEvents(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// Log collects log output, safe for concurrent writes.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.Write(p) }

// String is everything logged so far.
func (l *Log) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }

// Counter is a bounce.Observer that counts by source, result and kind.
type Counter struct {
	mu sync.Mutex
	n  map[string]int
}

// Observe implements bounce.Observer.
func (c *Counter) Observe(s bounce.Source, r bounce.Result, k bounce.Kind) {
	c.mu.Lock()
	c.n[string(s)+"/"+string(r)+"/"+string(k)]++
	c.n[string(r)]++
	c.mu.Unlock()
}

// Get is how many were observed with key "source/result/kind", or with
// result alone.
func (c *Counter) Get(key string) int { c.mu.Lock(); defer c.mu.Unlock(); return c.n[key] }

type nop struct{}

func (nop) Send(context.Context, *mail.Message) error { return nil }
