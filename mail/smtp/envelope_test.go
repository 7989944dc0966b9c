package smtp

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/syndicated/syndicated/mail"
)

// fromRecorder is a server that keeps each transaction's MAIL FROM.
type fromRecorder struct {
	mu    sync.Mutex
	froms []string
}

func (r *fromRecorder) NewSession(*smtp.Conn) (smtp.Session, error) { return &fromSession{r: r}, nil }

type fromSession struct{ r *fromRecorder }

func (s *fromSession) Mail(from string, _ *smtp.MailOptions) error {
	s.r.mu.Lock()
	s.r.froms = append(s.r.froms, from)
	s.r.mu.Unlock()
	return nil
}
func (s *fromSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *fromSession) Data(r io.Reader) error               { _, err := io.Copy(io.Discard, r); return err }
func (s *fromSession) Reset()                               {}
func (s *fromSession) Logout() error                        { return nil }

// A copy's envelope sender (VERP) is its MAIL FROM, whether its body was
// built ahead (a digest copy) or from text; the From header stays.
func TestEnvelopeFrom(t *testing.T) {
	rec := &fromRecorder{}
	srv := smtp.NewServer(rec)
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	tr, err := New(Config{URL: "smtp://" + ln.Addr().String() + "?tls=none", From: "News <digest@news.example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ctx := context.Background()
	tpl, err := mail.NewTemplate("Hello.", "<p>Hello.</p>")
	if err != nil {
		t.Fatal(err)
	}
	body, err := tpl.Fill(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []*mail.Message{
		{To: "a@example.org", Subject: "s", Body: body, EnvelopeFrom: "bounces+abc@bounce.example.org"},
		{To: "b@example.org", Subject: "s", Text: "Hello.", EnvelopeFrom: "bounces+def@bounce.example.org"},
		{To: "c@example.org", Subject: "s", Text: "Hello."},
	}
	for _, m := range msgs {
		if err := tr.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	rec.mu.Lock()
	got := strings.Join(rec.froms, " ")
	rec.mu.Unlock()
	if want := "bounces+abc@bounce.example.org bounces+def@bounce.example.org digest@news.example.com"; got != want {
		t.Errorf("MAIL FROM %q, want %q", got, want)
	}
	for _, bad := range []string{"Bounces <bounces@bounce.example.org>", "bounces@bounce.example.org\r\nBcc: x@y", "not an address"} {
		err := tr.Send(ctx, &mail.Message{To: "a@example.org", Subject: "s", Text: "x", EnvelopeFrom: bad})
		if !errors.Is(err, mail.ErrBadMessage) {
			t.Errorf("envelope sender %q: %v, want a bad message", bad, err)
		}
	}
}
