package digest_test

import (
	"fmt"
	"testing"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/internal/smtptest"
	smtpmail "github.com/syndicated/syndicated/mail/smtp"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

// discard is an SMTP server that reads and drops every message.
// BenchmarkSendIssue sends one issue to 2,000 subscribers (SQLite, four
// SMTP connections to an in-process discard server) and reports the
// wall time per message; with -cpuprofile it shows where a send's CPU
// goes.
func BenchmarkSendIssue(b *testing.B) {
	const n = 2000
	srv := smtptest.Start(b, smtptest.Script{Discard: true})
	tr, err := smtpmail.New(smtpmail.Config{URL: srv.URL(), From: "Shanghai Daily <news@example.com>", Conns: 4})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tr.Close() })
	week := 0
	for b.Loop() {
		b.StopTimer()
		st := storagetest.SQLite(b)
		f := newFixture(b, st, "https://news.example.com")
		f.seedArticles(b)
		var subs []*subscribers.Subscriber
		for i := range n {
			subs = append(subs, &subscribers.Subscriber{Email: fmt.Sprintf("r%05d@example.com", i), Name: fmt.Sprintf("Reader %d", i),
				Status: subscribers.StatusActive, CreatedAt: now0, Lists: []subscribers.Subscription{{List: series, Active: true, ChangedAt: now0}}})
		}
		if _, _, err := st.InsertSubscribers(b.Context(), subs); err != nil {
			b.Fatal(err)
		}
		iss := f.createIssue(b)
		s := digest.NewSender(digest.SenderConfig{Store: st, Compose: f.dg.Compose, Transport: tr, Workers: 4})
		week++
		b.StartTimer()
		rep, err := s.SendIssue(b.Context(), iss, nil)
		if err != nil || rep.Sent != n {
			b.Fatalf("sent %d: %v", rep.Sent, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/msg")
}
