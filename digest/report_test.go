package digest_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// The status report an operator reads after a send through a server that
// refuses one mailbox and delays another: counts by state, the wait for
// the retry with its time in the newsroom's zone, and each server reply.
func TestStatusReportText(t *testing.T) {
	st := storagetest.SQLite(t)
	f := newFixture(t, st, "https://news.example.com")
	f.seedArticles(t)
	srv := startSMTP(t)
	for _, e := range []string{"a@example.com", "temp1@example.com", "perm@example.com"} {
		f.subscribe(t, e)
	}
	iss := f.createIssue(t)
	s := digest.NewSender(digest.SenderConfig{Store: st, Compose: f.dg.Compose, Transport: srv.transport(t), Worker: "w1",
		Now: f.clock.Now, Backoff: func(int) time.Duration { return time.Hour }})
	if rep, err := s.SendIssue(t.Context(), iss, nil); err != nil || rep.Sent != 1 || rep.Retry != 1 || rep.Bounced != 1 {
		t.Fatalf("send: %+v, %v", rep, err)
	}
	r, err := f.dg.Status(t.Context(), iss)
	if err != nil {
		t.Fatal(err)
	}
	var status, failures bytes.Buffer
	r.WriteStatus(&status, newsroom)
	r.WriteFailures(&failures, 1)
	for _, want := range []string{
		"shanghai-70th/2019-W18: sending, created 2019-04-29 09:00:00\n",
		"  sent 1, pending 1, sending 0, failed 1, skipped 0\n",
		"shanghai-70th/2019-W18: 1 wait for a retry (the next at 2019-04-29 10:00:00 CST)",
		"  1 failed: mail: rcpt failed (permanent, 550 5.1.1): 550 5.1.1 no such user\n",
		"  1 to retry: mail: rcpt failed (temporary, 451 4.3.0): 451 4.3.0 try again later\n",
	} {
		if !strings.Contains(status.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, status.String())
		}
	}
	if lines := strings.Split(strings.TrimSpace(failures.String()), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "shanghai-70th/2019-W18: 1 ") ||
		lines[1] != "shanghai-70th/2019-W18: … and 1 more reasons (syndicated digest status)" {
		t.Errorf("failures at most 1:\n%s", failures.String())
	}
}
