package bounce_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/bounce"
	"github.com/syndicated/syndicated/bounce/internal/bouncetest"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

func hard(msgID string) bounce.Report {
	return bounce.Report{Kind: bounce.KindHard, Status: "5.1.1", Code: 550, MessageID: msgID,
		Diagnostic: "550 5.1.1 <gone@mail.example.net>: Recipient address rejected: User unknown"}
}

func mailFrom(f *bouncetest.Fixture, id string, addr string, rs ...bounce.Report) bounce.Notification {
	return bounce.Notification{Source: bounce.SourceSMTP, ID: id, Addresses: []string{addr}, Reports: rs}
}

func handle(t *testing.T, f *bouncetest.Fixture, n bounce.Notification) []bounce.Outcome {
	t.Helper()
	out, err := f.Proc.Handle(context.Background(), n)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	return out
}

func results(out []bounce.Outcome) string {
	var s []string
	for _, o := range out {
		s = append(s, string(o.Result))
	}
	return strings.Join(s, ",")
}

func TestHardBounce(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f := bouncetest.New(t, st)
		gone := f.Subscriber(t, "gone@mail.example.net")
		other := f.Subscriber(t, "other@mail.example.net")
		iss := f.Issue(t, "shanghai-70th", 22)
		rp := f.VERP.ReturnPath(iss.ID, gone.ID)

		out := handle(t, f, mailFrom(f, "dsn-1@relay", rp, hard(bouncetest.MessageID(iss.ID, gone.ID))))
		if results(out) != "recorded" || out[0].Event.Action != "bounced" {
			t.Fatalf("outcome %+v", out)
		}
		sub := f.Get(t, gone.ID)
		if sub.Status != subscribers.StatusBounced || sub.BounceCount != 1 {
			t.Errorf("subscriber %s, %d bounces", sub.Status, sub.BounceCount)
		}
		if f.Get(t, other.ID).Status != subscribers.StatusActive {
			t.Error("another subscriber changed")
		}
		evs := f.Events(t, gone.ID)
		if len(evs) != 1 || evs[0].IssueID != iss.ID || evs[0].Source != bounce.SourceSMTP || evs[0].Status != "5.1.1" ||
			evs[0].Diagnostic != "550 5.1.1 <address>: Recipient address rejected: User unknown" {
			t.Errorf("events %+v", evs)
		}
		// The same DSN again, and another notification of the same
		// failure (the provider's webhook, a second DSN): one event.
		out = handle(t, f, mailFrom(f, "dsn-1@relay", rp, hard("")))
		out = append(out, handle(t, f, mailFrom(f, "dsn-2@relay", rp, hard("")))...)
		if results(out) != "duplicate,duplicate" {
			t.Errorf("again: %s", results(out))
		}
		if sub := f.Get(t, gone.ID); sub.BounceCount != 1 || len(f.Events(t, gone.ID)) != 1 {
			t.Errorf("counted twice: %d bounces, %d events", sub.BounceCount, len(f.Events(t, gone.ID)))
		}
		if f.Count.Get("smtp/recorded/hard") != 1 || f.Count.Get("duplicate") != 2 {
			t.Errorf("observed %v", f.Count)
		}
		// unbounce undoes it, whatever the source.
		done, err := f.Subs.Unbounce(context.Background(), []string{"gone@mail.example.net"}, time.Time{})
		if err != nil || len(done) != 1 || f.Get(t, gone.ID).Status != subscribers.StatusActive {
			t.Errorf("unbounce: %v %v", done, err)
		}
	})
}

// Forged, altered or misplaced tokens change nothing; each is counted and
// logged.
func TestTokensThatDoNotVerify(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f := bouncetest.New(t, st)
		a := f.Subscriber(t, "a@mail.example.net")
		b := f.Subscriber(t, "b@mail.example.net")
		w22 := f.Issue(t, "shanghai-70th", 22)
		w23 := f.Issue(t, "shanghai-70th", 23)
		rp := f.VERP.ReturnPath(w22.ID, a.ID)
		local, domain, _ := strings.Cut(rp, "@")
		flip := map[byte]byte{'a': 'b'}
		last := local[len(local)-1]
		if r, ok := flip[last]; ok {
			last = r
		} else {
			last = 'a'
		}
		altered := local[:len(local)-1] + string(last) + "@" + domain
		other, _ := bounce.NewVERP(bouncetest.Address, []byte("another-secret-0123456789"), true)

		cases := []struct {
			name   string
			n      bounce.Notification
			result string
		}{
			{"altered", mailFrom(f, "x1", altered, hard("")), "unverified"},
			{"other secret", mailFrom(f, "x2", other.ReturnPath(w22.ID, a.ID), hard("")), "unverified"},
			{"no token", mailFrom(f, "x3", bouncetest.Address, hard("")), "unverified"},
			{"unsubscribe token as a bounce", bounce.Notification{Source: bounce.SourceSMTP, ID: "x4",
				Addresses: []string{strings.Replace(f.VERP.UnsubscribeAddress(w22.ID, a.ID), "+unsubscribe-", "+", 1)}, Reports: []bounce.Report{hard("")}}, "unverified"},
			{"token of one issue, Message-ID of another", mailFrom(f, "x5", rp, hard(bouncetest.MessageID(w23.ID, a.ID))), "mismatch"},
			{"tokens of two readers", bounce.Notification{Source: bounce.SourceIMAP, ID: "x6",
				Addresses: []string{rp, f.VERP.ReturnPath(w22.ID, b.ID)}, Reports: []bounce.Report{hard("")}}, "mismatch"},
			{"a webhook-style report by address, on mail", bounce.Notification{Source: bounce.SourceSMTP, ID: "x7",
				Reports: []bounce.Report{{Kind: bounce.KindHard, Status: "5.1.1", Recipient: "a@mail.example.net"}}}, "unverified"},
		}
		for _, c := range cases {
			if out := handle(t, f, c.n); results(out) != c.result {
				t.Errorf("%s: %s (%+v), want %s", c.name, results(out), out, c.result)
			}
		}
		for _, id := range []int64{a.ID, b.ID} {
			if sub := f.Get(t, id); sub.Status != subscribers.StatusActive || len(f.Events(t, id)) != 0 {
				t.Errorf("subscriber %d changed: %s, %d events", id, sub.Status, len(f.Events(t, id)))
			}
		}
		if n := strings.Count(f.Log.String(), "bounce: notification ignored"); n != len(cases) {
			t.Errorf("%d log lines for %d ignored notifications:\n%s", n, len(cases), f.Log)
		}
		if strings.Contains(f.Log.String(), "a@mail.example.net") {
			t.Errorf("an address in the log:\n%s", f.Log)
		}
		if f.Count.Get("unverified") != 5 || f.Count.Get("mismatch") != 2 {
			t.Errorf("unverified %d, mismatch %d", f.Count.Get("unverified"), f.Count.Get("mismatch"))
		}
	})
}

// A notification about a subscriber erased since: the token verifies but
// names no delivery; nothing happens.
func TestErasedSubscriber(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f := bouncetest.New(t, st)
		a := f.Subscriber(t, "erased@mail.example.net")
		iss := f.Issue(t, "shanghai-70th", 22)
		rp := f.VERP.ReturnPath(iss.ID, a.ID)
		if err := f.Subs.Remove(context.Background(), "erased@mail.example.net"); err != nil {
			t.Fatal(err)
		}
		if out := handle(t, f, mailFrom(f, "late", rp, hard(""))); results(out) != "unmatched" {
			t.Errorf("%+v", out)
		}
		if !strings.Contains(f.Log.String(), "names no delivery") {
			t.Errorf("log:\n%s", f.Log)
		}
	})
}

func soft(status string) bounce.Report {
	return bounce.Report{Kind: bounce.KindSoft, Status: status, Code: 452, Diagnostic: "452 4.2.2 Mailbox full"}
}

// Soft bounces count; the limit within the window, over at least two
// issues, bounces the subscriber. Older ones fall out of the window.
func TestSoftBounces(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f := bouncetest.New(t, st) // 3 within 30 days over 2 issues
		a := f.Subscriber(t, "full@mail.example.net")
		w22 := f.Issue(t, "shanghai-70th", 22)
		w23 := f.Issue(t, "shanghai-70th", 23)
		rp22, rp23 := f.VERP.ReturnPath(w22.ID, a.ID), f.VERP.ReturnPath(w23.ID, a.ID)
		step := func(id, rp, wantAction string) {
			t.Helper()
			out := handle(t, f, mailFrom(f, id, rp, soft("4.2.2")))
			if results(out) != "recorded" || !strings.HasPrefix(out[0].Event.Action, wantAction) {
				t.Fatalf("%s: %+v, want %q", id, out, wantAction)
			}
		}
		step("d1", rp22, "soft bounce 1 of 3")
		step("d2", rp22, "soft bounce 2 of 3")
		step("d3", rp22, "soft bounce 3 of 3 (1 of 2 issues)") // one copy reported thrice is not enough
		if f.Get(t, a.ID).Status != subscribers.StatusActive {
			t.Fatal("bounced on one issue")
		}
		if out := handle(t, f, mailFrom(f, "d3", rp22, soft("4.2.2"))); results(out) != "duplicate" {
			t.Errorf("the same DSN again: %s", results(out))
		}
		f.Advance(31 * 24 * time.Hour) // the three fall out of the window
		step("d4", rp23, "soft bounce 1 of 3")
		step("d5", rp23, "soft bounce 2 of 3")
		f.Advance(24 * time.Hour)
		step("d6", rp22, "bounced: 3 soft bounces over 2 issues") // a late one about W22, received now
		if sub := f.Get(t, a.ID); sub.Status != subscribers.StatusBounced {
			t.Errorf("status %s", sub.Status)
		}
		// After an unbounce the count starts again.
		if _, err := f.Subs.Unbounce(context.Background(), []string{"full@mail.example.net"}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		step("d7", rp23, "soft bounce 1 of 3")
	})
}

func TestComplaint(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		ctx := context.Background()
		f := bouncetest.New(t, st)
		a := f.Subscriber(t, "Annoyed@Mail.example.net")
		iss := f.Issue(t, "shanghai-70th", 22)
		arf := bounce.Notification{Source: bounce.SourceIMAP, ID: "fbl-1", Addresses: []string{bouncetest.Address, f.VERP.ReturnPath(iss.ID, a.ID)},
			Reports: []bounce.Report{{Kind: bounce.KindComplaint, Diagnostic: "feedback-type abuse", MessageID: bouncetest.MessageID(iss.ID, a.ID)}}}
		out := handle(t, f, arf)
		if results(out) != "recorded" {
			t.Fatalf("%+v", out)
		}
		sub := f.Get(t, a.ID)
		if sub.Status != subscribers.StatusUnsubscribed || len(sub.Lists) != 2 || sub.Lists[0].Active || sub.Lists[1].Active {
			t.Errorf("after a complaint: %+v", sub)
		}
		if !strings.Contains(f.Log.String(), "level=WARN msg=\"bounce: event recorded\" source=imap kind=complaint") {
			t.Errorf("no warning:\n%s", f.Log)
		}
		// No import, sign-up or operator brings the address back.
		rep, err := f.Subs.ImportCSV(ctx, strings.NewReader("email,status\nannoyed@mail.example.net,active\n"), nil)
		if err != nil || rep.Suppressed != 1 {
			t.Errorf("import: %+v %v", rep, err)
		}
		if _, err := f.Subs.Add(ctx, "ANNOYED@mail.example.net", "", nil, true); !errors.Is(err, subscribers.ErrSuppressed) {
			t.Errorf("add: %v, want ErrSuppressed", err)
		}
		if err := f.Subs.Subscribe(ctx, subscribers.Request{Email: "annoyed@mail.example.net", IP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
		if sub := f.Get(t, a.ID); sub.Status != subscribers.StatusUnsubscribed {
			t.Errorf("a sign-up brought it back: %s", sub.Status)
		}
		if out := handle(t, f, arf); results(out) != "duplicate" {
			t.Errorf("the report again: %s", results(out))
		}
	})
}

// Mail to a copy's unsubscribe address takes the reader off that copy's
// list only, whatever the mail says.
func TestUnsubscribeByMail(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f := bouncetest.New(t, st)
		a := f.Subscriber(t, "leaving@mail.example.net")
		iss := f.Issue(t, "shanghai-70th", 22)
		addr := f.VERP.UnsubscribeAddress(iss.ID, a.ID)
		out := handle(t, f, bounce.Notification{Source: bounce.SourceSMTP, ID: "u1", Addresses: []string{addr}, What: "an ordinary message"})
		if results(out) != "recorded" || out[0].Kind != bounce.KindUnsubscribe || out[0].Event.Action != "unsubscribed from shanghai-70th" {
			t.Fatalf("%+v", out)
		}
		sub := f.Get(t, a.ID)
		if sub.Status != subscribers.StatusActive {
			t.Errorf("status %s: still on the other list", sub.Status)
		}
		for _, l := range sub.Lists {
			if (l.List == "shanghai-70th") == l.Active {
				t.Errorf("list %s active %v", l.List, l.Active)
			}
		}
	})
}

// Authenticated reports (webhooks) are matched by address and Message-ID;
// an address nobody has is ignored.
func TestAuthenticatedByAddress(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f := bouncetest.New(t, st)
		a := f.Subscriber(t, "Reader@mail.example.net")
		w22 := f.Issue(t, "shanghai-70th", 22)
		w23 := f.Issue(t, "shanghai-70th", 23)
		n := bounce.Notification{Source: bounce.SourceSES, ID: "ses-1", Authenticated: true, Reports: []bounce.Report{
			{Kind: bounce.KindHard, Status: "5.1.1", Recipient: "Reader@MAIL.example.net", MessageID: "<" + bouncetest.MessageID(w22.ID, a.ID) + ">"},
			{Kind: bounce.KindHard, Status: "5.1.1", Recipient: "nobody@mail.example.net"},
		}}
		out := handle(t, f, n)
		if results(out) != "recorded,unmatched" || out[0].Event.IssueID != w22.ID {
			t.Fatalf("%+v", out)
		}
		// Without a Message-ID: the latest copy sent.
		b := f.Subscriber(t, "b@mail.example.net")
		w24 := f.Issue(t, "shanghai-70th", 24)
		out = handle(t, f, bounce.Notification{Source: bounce.SourceMailgun, ID: "mg-1", Authenticated: true,
			Reports: []bounce.Report{{Kind: bounce.KindSoft, Status: "4.2.2", Recipient: "b@mail.example.net", EventID: "e1"}}})
		if results(out) != "recorded" || out[0].Event.IssueID != w24.ID || out[0].Event.SubscriberID != b.ID {
			t.Errorf("%+v", out)
		}
		_ = w23
	})
}

func TestPolicyRefusalChangesNothing(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f := bouncetest.New(t, st)
		a := f.Subscriber(t, "strict@mail.example.net")
		iss := f.Issue(t, "shanghai-70th", 22)
		out := handle(t, f, mailFrom(f, "p1", f.VERP.ReturnPath(iss.ID, a.ID),
			bounce.Report{Kind: bounce.KindRejected, Status: "5.7.1", Code: 554, Diagnostic: "554 5.7.1 blocked"}))
		if results(out) != "recorded" || !strings.HasPrefix(out[0].Event.Action, "none") || f.Get(t, a.ID).Status != subscribers.StatusActive {
			t.Errorf("%+v", out)
		}
	})
}

// A store that fails makes Handle fail temporarily, so that the sender
// retries; nothing was recorded half.
func TestStoreFailureIsTemporary(t *testing.T) {
	f := bouncetest.New(t, storagetest.SQLite(t))
	a := f.Subscriber(t, "x@mail.example.net")
	iss := f.Issue(t, "shanghai-70th", 22)
	f.Store.Close()
	_, err := f.Proc.Handle(context.Background(), mailFrom(f, "t1", f.VERP.ReturnPath(iss.ID, a.ID), hard("")))
	if !errors.Is(err, bounce.ErrTemporary) {
		t.Errorf("err = %v, want ErrTemporary", err)
	}
}
