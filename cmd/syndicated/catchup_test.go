package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/mail"
)

type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) Send(context.Context, *mail.Message) error { c.n.Add(1); return nil }

// The daemon was down at Monday 27 May 2019, 09:00 Shanghai, when the
// weekly digest was due. Started at 10:30 it creates that issue (with the
// stories published up to 09:00) and it is sent; started again, it creates
// and sends nothing more. Started 25 hours after the run was due (past the
// default 24-hour digest.catch_up), it creates nothing.
func TestServeCatchesUpAMissedDigestOnce(t *testing.T) {
	ctx := context.Background()
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	due := time.Date(2019, 5, 27, 9, 0, 0, 0, sh)
	start := func(data string, now time.Time) (*daemon, *digest.Plan) {
		t.Helper()
		d, err := newDaemon(ctx, openIn(t, nil, data))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.mailer.Close() })
		d.digest.catchUp(ctx, now)
		p, err := d.digest.svc.Stored(ctx, "shanghai-70th", digest.WeekOf(due, sh))
		if err != nil {
			return d, nil
		}
		return d, p
	}

	data := t.TempDir()
	readers := []string{"li@example.com", "wang@example.com"}
	for _, e := range readers {
		if code, _, errs := run(t, ctx, nil, "subscribers", "add", "--data", data, "--confirmed", e); code != 0 {
			t.Fatalf("add: %s", errs)
		}
	}
	d, p := start(data, time.Date(2019, 5, 27, 10, 30, 0, 0, sh))
	if p == nil {
		t.Fatal("started at 10:30: no issue for the run missed at 09:00")
	}
	if p.Issue.ID != "shanghai-70th/2019-W22" || !p.Issue.Until.Equal(due) || len(p.Articles) == 0 {
		t.Errorf("issue %s until %v with %d articles, want 2019-W22 until the 09:00 run", p.Issue.ID, p.Issue.Until, len(p.Articles))
	}
	for _, a := range p.Articles {
		if a.Published.After(due) {
			t.Errorf("%s published at %v, after the missed run", a.ID, a.Published)
		}
	}
	tr := &countingTransport{}
	rep, err := d.a.digestSender(d.digest.svc, tr, nil).SendIssue(ctx, &p.Issue, nil)
	if err != nil || rep.Sent != len(readers) || tr.n.Load() != int32(len(readers)) {
		t.Fatalf("send: %+v, %v; %d emails", rep, err, tr.n.Load())
	}

	// A second start, later the same morning: nothing new to create or send.
	d2, p2 := start(data, time.Date(2019, 5, 27, 11, 15, 0, 0, sh))
	if p2 == nil || !p2.Issue.CreatedAt.Equal(p.Issue.CreatedAt) {
		t.Fatalf("second start: issue %+v, want the first one unchanged", p2)
	}
	counts, err := d2.a.store.DeliveryCounts(ctx, p.Issue.ID)
	if err != nil || counts[digest.StateSent] != len(readers) || counts[digest.StatePending] != 0 {
		t.Errorf("second start: deliveries %v, %v", counts, err)
	}
	rep, err = d2.a.digestSender(d2.digest.svc, tr, nil).SendIssue(ctx, &p2.Issue, nil)
	if err != nil || rep.Sent != 0 || tr.n.Load() != int32(len(readers)) {
		t.Errorf("second start sent again: %+v, %v; %d emails in all", rep, err, tr.n.Load())
	}

	// Another daemon, down for longer: 25 hours after the run was due.
	late := t.TempDir()
	if code, _, errs := run(t, ctx, nil, "subscribers", "add", "--data", late, "--confirmed", readers[0]); code != 0 {
		t.Fatalf("add: %s", errs)
	}
	if _, p := start(late, due.Add(25*time.Hour)); p != nil {
		t.Errorf("started 25 h late: issue %s created", p.Issue.ID)
	}
}
