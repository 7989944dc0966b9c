package digest_test

import (
	"fmt"
	"io"
	"log"
	"net"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/syndicated/syndicated/digest"
	smtpmail "github.com/syndicated/syndicated/mail/smtp"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

// discard is an SMTP server that reads and drops every message.
type discard struct{ n atomic.Int64 }

func (d *discard) NewSession(*smtp.Conn) (smtp.Session, error) { return discardSession{d}, nil }

type discardSession struct{ d *discard }

func (discardSession) Mail(string, *smtp.MailOptions) error { return nil }
func (discardSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s discardSession) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	s.d.n.Add(1)
	return err
}
func (discardSession) Reset()        {}
func (discardSession) Logout() error { return nil }

// BenchmarkSendIssue sends one issue to 2,000 subscribers (SQLite, four
// SMTP connections to an in-process discard server) and reports the
// wall time per message; with -cpuprofile it shows where a send's CPU
// goes.
func BenchmarkSendIssue(b *testing.B) {
	const n = 2000
	d := &discard{}
	srv := smtp.NewServer(d)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	tr, err := smtpmail.New(smtpmail.Config{URL: "smtp://" + ln.Addr().String() + "?tls=none", From: "Shanghai Daily <news@example.com>", Conns: 4})
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
