package bouncetest

import (
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/mail/hermes"
	smtpmail "github.com/syndicated/syndicated/mail/smtp"
)

// Sent is one message a Relay accepted, with its envelope.
type Sent struct {
	From string
	To   string
	Raw  []byte
}

// Relay is a relay that accepts every recipient, as a publisher's own
// Postfix or a mail provider does, and keeps each message with its
// envelope sender.
type Relay struct {
	Addr string
	mu   sync.Mutex
	got  []Sent
}

// StartRelay runs a Relay on loopback until the test ends.
func StartRelay(t testing.TB) *Relay {
	t.Helper()
	r := &Relay{}
	srv := smtp.NewServer(relayBackend{r})
	srv.Domain = "relay.news.example.com"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.Addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

// Sent returns the accepted messages.
func (r *Relay) Sent() []Sent { r.mu.Lock(); defer r.mu.Unlock(); return append([]Sent(nil), r.got...) }

type relayBackend struct{ r *Relay }

func (b relayBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &relaySession{r: b.r}, nil }

type relaySession struct {
	r        *Relay
	from, to string
}

func (s *relaySession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error   { s.to = to; return nil }
func (s *relaySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	s.r.got = append(s.r.got, Sent{From: s.from, To: s.to, Raw: b})
	s.r.mu.Unlock()
	return nil
}
func (s *relaySession) Reset()        {}
func (s *relaySession) Logout() error { return nil }

// SendDigest creates the series' issue of week w with one story and sends
// it through the digest's real sender and SMTP transport to relay, each
// copy with its VERP envelope sender. It returns the issue and the copies
// by recipient.
func (f *Fixture) SendDigest(t testing.TB, relay *Relay, series string, w int) (*digest.Issue, map[string]Sent) {
	t.Helper()
	ctx := context.Background()
	week := digest.Week{Year: 2019, Num: w}
	end := week.End(time.UTC)
	a := &article.Article{ID: "story-" + strings.ToLower(week.String()), GUID: "urn:test:" + week.String(), Section: "society", Series: []string{series},
		Headline: "A story of " + week.String(), Published: end.Add(-48 * time.Hour), Updated: end.Add(-48 * time.Hour),
		Body: []article.Page{{Number: 1, Paragraphs: []string{"Text."}}}, Status: article.StatusPublished}
	if _, err := f.Store.PutArticle(ctx, a, a.Published); err != nil {
		t.Fatal(err)
	}
	render := hermes.New(hermes.Brand{Name: "News", Link: "https://news.example.com/"})
	dg, err := digest.New(digest.Config{Store: f.Store, Articles: f.Store, Subscribers: f.Subs, BaseURL: "https://news.example.com",
		Series: []digest.Series{{Slug: series, Title: "Shanghai 70th anniversary series"}}, Renderer: render, Zone: time.UTC,
		From: "Syndicated <digest@news.example.com>", Now: func() time.Time { return end.Add(-time.Hour) }, Returns: f.VERP})
	if err != nil {
		t.Fatal(err)
	}
	p, err := dg.Plan(ctx, series, week, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	iss, _, err := dg.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := smtpmail.New(smtpmail.Config{URL: "smtp://" + relay.Addr + "?tls=none", From: "Syndicated <digest@news.example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	before := len(relay.Sent())
	rep, err := digest.NewSender(digest.SenderConfig{Store: f.Store, Compose: dg.Compose, Transport: tr, WaitForLeases: true,
		Log: slog.New(slog.DiscardHandler)}).SendIssue(ctx, iss, nil)
	if err != nil || rep.Sent == 0 {
		t.Fatalf("send: %+v %v", rep, err)
	}
	out := map[string]Sent{}
	for _, s := range relay.Sent()[before:] {
		out[s.To] = s
	}
	return iss, out
}

// DSN is the fixture file (bounce/parse/testdata) as a relay would send it
// back for copy: to its envelope sender, quoting its Message-ID.
func DSN(t testing.TB, file string, copy Sent) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), "bounces+t0ken@bounce.example.org", copy.From)
	if id := headerValue(copy.Raw, "Message-ID"); id != "" {
		for _, old := range []string{"digest.shanghai-70th.2019-W22.42@news.example.com", "digest.shanghai-70th.2019-W22.44@news.example.com",
			"digest.shanghai-70th.2019-W22.48@news.example.com"} {
			s = strings.ReplaceAll(s, old, strings.Trim(id, "<>"))
		}
	}
	return []byte(s)
}

func headerValue(raw []byte, name string) string {
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// ErrNotYet is returned by Eventually's check while it waits.
var ErrNotYet = errors.New("not yet")

// Eventually calls check until it returns nil, for up to 10 s.
func Eventually(t testing.TB, check func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
