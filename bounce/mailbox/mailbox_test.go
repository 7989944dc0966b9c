package mailbox_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syndicated/syndicated/bounce"
	"github.com/syndicated/syndicated/bounce/internal/bouncetest"
	"github.com/syndicated/syndicated/bounce/mailbox"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

const testdata = "../parse/testdata/"

func (d *dovecot) create(t *testing.T, name string) {
	t.Helper()
	c, err := d.client()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout()
	if err := c.Create(name); err != nil {
		t.Fatal(err)
	}
}

func poller(t *testing.T, d *dovecot, f *bouncetest.Fixture, box, done string, h mailbox.Handler) *mailbox.Poller {
	t.Helper()
	if h == nil {
		h = f.Proc
	}
	p, err := mailbox.New(mailbox.Config{URL: d.url(box), Done: done, TLS: d.tls(), Handler: h, Observer: f.Count,
		MaxMessageBytes: 256 << 10, Log: slog.New(slog.NewTextHandler(f.Log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func poll(t *testing.T, p *mailbox.Poller) int {
	t.Helper()
	n, err := p.Poll(context.Background())
	if err != nil {
		t.Fatalf("Poll: %v", err)
	}
	return n
}

// A real Dovecot holds what came back for an issue sent through a relay
// that accepts everyone: DSNs, an ARF complaint sent to the feedback-loop
// address, an auto-reply, malformed MIME, a forged token and a message too
// large to read. One poll handles each once and moves it aside; the next
// finds nothing; a DSN delivered again changes nothing.
func TestMailbox(t *testing.T) {
	d := startDovecot(t)
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		box, done := "in-"+t.Name()[strings.LastIndexByte(t.Name(), '/')+1:], "done-"+t.Name()[strings.LastIndexByte(t.Name(), '/')+1:]
		d.create(t, box)
		f := bouncetest.New(t, st)
		gone := f.Subscriber(t, "gone@mail.example.net")
		full := f.Subscriber(t, "full@mail.example.net")
		annoyed := f.Subscriber(t, "annoyed@mail.example.net")
		fine := f.Subscriber(t, "fine@mail.example.net")
		relay := bouncetest.StartRelay(t)
		iss, copies := f.SendDigest(t, relay, "shanghai-70th", 22)

		hardDSN := bouncetest.DSN(t, testdata+"postfix-dsn-hard.eml", copies["gone@mail.example.net"])
		d.deliver(t, box, copies["gone@mail.example.net"].From, hardDSN)
		d.deliver(t, box, copies["full@mail.example.net"].From, bouncetest.DSN(t, testdata+"postfix-dsn-full.eml", copies["full@mail.example.net"]))
		// Feedback loops report to the address registered with them, not
		// the VERP one; the report quotes the VERP address.
		d.deliver(t, box, bouncetest.Address, bouncetest.DSN(t, testdata+"arf-abuse.eml", copies["annoyed@mail.example.net"]))
		d.deliver(t, box, copies["fine@mail.example.net"].From, bouncetest.DSN(t, testdata+"autoreply.eml", copies["fine@mail.example.net"]))
		d.deliver(t, box, copies["fine@mail.example.net"].From, bouncetest.DSN(t, testdata+"malformed-multipart.eml", copies["fine@mail.example.net"]))
		forged := strings.Replace(copies["fine@mail.example.net"].From, "bounces+", "bounces+b", 1)
		d.deliver(t, box, forged, bouncetest.DSN(t, testdata+"postfix-dsn-hard.eml", bouncetest.Sent{From: forged}))
		large := append(bouncetest.DSN(t, testdata+"postfix-dsn-hard.eml", copies["fine@mail.example.net"]),
			bytes.Repeat([]byte(strings.Repeat("y", 70)+"\r\n"), 300<<10/72)...)
		d.deliver(t, box, copies["fine@mail.example.net"].From, large)

		p := poller(t, d, f, box, done, nil)
		if n := poll(t, p); n != 7 {
			t.Fatalf("handled %d of 7", n)
		}
		if all, _ := d.count(t, box, ""); all != 0 {
			t.Errorf("%d messages left in %s", all, box)
		}
		if all, flagged := d.count(t, done, mailbox.DoneFlag); all != 7 || flagged != 7 {
			t.Errorf("%s holds %d, %d flagged; want 7", done, all, flagged)
		}
		if s := f.Get(t, gone.ID).Status; s != subscribers.StatusBounced {
			t.Errorf("unknown mailbox: %s", s)
		}
		if s := f.Get(t, full.ID).Status; s != subscribers.StatusActive {
			t.Errorf("full mailbox: %s", s)
		}
		if s := f.Get(t, annoyed.ID).Status; s != subscribers.StatusUnsubscribed {
			t.Errorf("complainer: %s", s)
		}
		if s := f.Get(t, fine.ID); s.Status != subscribers.StatusActive || len(f.Events(t, fine.ID)) != 0 {
			t.Errorf("auto-reply, malformed, forged or large mail acted on: %s, %d events", s.Status, len(f.Events(t, fine.ID)))
		}
		counts, _ := st.IssueEventCounts(context.Background(), iss.ID)
		if fmt.Sprint(counts) != fmt.Sprint(map[bounce.Kind]int{bounce.KindHard: 1, bounce.KindSoft: 1, bounce.KindComplaint: 1}) {
			t.Errorf("issue events %v", counts)
		}
		for _, want := range []string{"reason=\"an auto-reply\"", "reason=\"malformed message", "result=unverified", "message set aside unread"} {
			if !strings.Contains(f.Log.String(), want) {
				t.Errorf("no log line with %s:\n%s", want, f.Log)
			}
		}
		if f.Count.Get("imap/refused/") != 1 {
			t.Errorf("the large message was not counted as refused")
		}

		if n := poll(t, p); n != 0 {
			t.Errorf("second poll handled %d", n)
		}
		d.deliver(t, box, copies["gone@mail.example.net"].From, hardDSN)
		if n := poll(t, p); n != 1 {
			t.Errorf("redelivered DSN: handled %d", n)
		}
		if s := f.Get(t, gone.ID); s.BounceCount != 1 || len(f.Events(t, gone.ID)) != 1 {
			t.Errorf("redelivered DSN counted again: %d bounces, %d events", s.BounceCount, len(f.Events(t, gone.ID)))
		}
	})
}

// failOnce fails the first notification temporarily, as a store that is
// down would, then hands the rest to the pipeline.
type failOnce struct {
	h     mailbox.Handler
	calls atomic.Int32
}

func (f *failOnce) Handle(ctx context.Context, n bounce.Notification) ([]bounce.Outcome, error) {
	if f.calls.Add(1) == 1 {
		return nil, fmt.Errorf("%w: database unreachable", bounce.ErrTemporary)
	}
	return f.h.Handle(ctx, n)
}

// Without a mailbox for handled mail, messages stay where they are,
// flagged. A message the pipeline could not record is left unflagged and
// read again at the next poll.
func TestMailboxFlagsAndRetries(t *testing.T) {
	d := startDovecot(t)
	st := storagetest.SQLite(t)
	f := bouncetest.New(t, st)
	gone := f.Subscriber(t, "gone@mail.example.net")
	relay := bouncetest.StartRelay(t)
	_, copies := f.SendDigest(t, relay, "shanghai-70th", 22)
	d.deliver(t, "INBOX", copies["gone@mail.example.net"].From, bouncetest.DSN(t, testdata+"postfix-dsn-hard.eml", copies["gone@mail.example.net"]))

	p := poller(t, d, f, "INBOX", "", &failOnce{h: f.Proc})
	if n, err := p.Poll(context.Background()); err == nil || n != 0 {
		t.Fatalf("first poll: %d, %v; want the temporary failure", n, err)
	}
	if all, flagged := d.count(t, "INBOX", mailbox.DoneFlag); all != 1 || flagged != 0 {
		t.Fatalf("after the failure: %d messages, %d flagged", all, flagged)
	}
	if s := f.Get(t, gone.ID).Status; s != subscribers.StatusActive {
		t.Fatalf("acted on a failed attempt: %s", s)
	}
	if n := poll(t, p); n != 1 {
		t.Fatalf("retry: handled %d", n)
	}
	if all, flagged := d.count(t, "INBOX", mailbox.DoneFlag); all != 1 || flagged != 1 {
		t.Errorf("after the retry: %d messages, %d flagged", all, flagged)
	}
	if all, flagged := d.count(t, "INBOX", `\Seen`); all != 1 || flagged != 1 {
		t.Errorf("not marked seen: %d/%d", flagged, all)
	}
	if s := f.Get(t, gone.ID).Status; s != subscribers.StatusBounced {
		t.Errorf("after the retry: %s", s)
	}
	if n := poll(t, p); n != 0 {
		t.Errorf("a flagged message was read again")
	}
}

func TestMailboxURL(t *testing.T) {
	for _, bad := range []string{"imap://u:p@host/INBOX", "imaps://host/INBOX", "imaps://u@host/INBOX", "not a url"} {
		if _, err := mailbox.New(mailbox.Config{URL: bad, Handler: failNever{}}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	p, err := mailbox.New(mailbox.Config{URL: "imaps://bounces:s3cret@imap.example.org/Bounces", Handler: failNever{}})
	if err != nil || p.String() != "imaps://imap.example.org:993/Bounces" {
		t.Errorf("%v %v", p, err)
	}
}

type failNever struct{}

func (failNever) Handle(context.Context, bounce.Notification) ([]bounce.Outcome, error) {
	return nil, nil
}

// With several replicas, one reads the mailbox at a time: a poll whose
// lock another holds is skipped.
func TestMailboxTakesTheLock(t *testing.T) {
	d := startDovecot(t)
	f := bouncetest.New(t, storagetest.SQLite(t))
	gone := f.Subscriber(t, "gone@mail.example.net")
	relay := bouncetest.StartRelay(t)
	_, copies := f.SendDigest(t, relay, "shanghai-70th", 22)
	d.deliver(t, "INBOX", copies["gone@mail.example.net"].From, bouncetest.DSN(t, testdata+"postfix-dsn-hard.eml", copies["gone@mail.example.net"]))
	var held atomic.Bool
	held.Store(true)
	var asked atomic.Int32
	p, err := mailbox.New(mailbox.Config{URL: d.url("INBOX"), TLS: d.tls(), Handler: f.Proc, Poll: 20 * time.Millisecond,
		TryLock: func(ctx context.Context, name string) (func(), bool, error) {
			asked.Add(1)
			if name != "bounce-mailbox" {
				t.Errorf("lock %q", name)
			}
			return func() {}, !held.Load(), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	run := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		if err := p.Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if asked.Load() < 1 || f.Get(t, gone.ID).Status != subscribers.StatusActive {
		t.Fatalf("read while another replica held the lock (asked %d)", asked.Load())
	}
	held.Store(false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	bouncetest.Eventually(t, func() error {
		if s := f.Get(t, gone.ID).Status; s != subscribers.StatusBounced {
			return fmt.Errorf("with the lock: %s", s)
		}
		return nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
