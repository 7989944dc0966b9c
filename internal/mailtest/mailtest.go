// Package mailtest holds what tests of mail-sending services share: a
// settable clock and an outbox that records each message after the real
// spool has built it (so MIME and header rules still apply).
package mailtest

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/mail/spool"
)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Add moves the clock forward by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Outbox is a mail.Transport that builds each message with the .eml spool
// transport and keeps it for the test.
type Outbox struct {
	mu   sync.Mutex
	file *spool.Spool
	msgs []*mail.Message
	fail error
	// Wait, when set, is called by Take first (a service's Wait, so that
	// background sends have finished).
	Wait func()
}

// NewOutbox writes .eml files under a temporary directory of tb.
func NewOutbox(tb testing.TB, from string, now func() time.Time) *Outbox {
	tb.Helper()
	ft, err := spool.New(tb.TempDir(), from, "", now)
	if err != nil {
		tb.Fatal(err)
	}
	return &Outbox{file: ft}
}

// Send builds and records m, or returns the failure set by Fail.
func (o *Outbox) Send(ctx context.Context, m *mail.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return o.fail
	}
	if err := o.file.Send(ctx, m); err != nil {
		return err
	}
	o.msgs = append(o.msgs, m)
	return nil
}

// Fail makes every later Send return err (nil: succeed again).
func (o *Outbox) Fail(err error) {
	o.mu.Lock()
	o.fail = err
	o.mu.Unlock()
}

// Take returns the messages sent since the last Take.
func (o *Outbox) Take() []*mail.Message {
	if o.Wait != nil {
		o.Wait()
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	m := o.msgs
	o.msgs = nil
	return m
}

// Message is a message that exercises the MIME rules: a quoted display
// name, non-ASCII subject and bodies, extra and List-Unsubscribe headers.
func Message(to string) *mail.Message {
	m := &mail.Message{
		To:      to,
		ToName:  `Zhang "Wei" <b>`,
		Subject: "Confirm your subscription — 确认订阅",
		Text:    "Hello,\nplease confirm: https://news.example.com/confirm?token=abc\n",
		HTML:    `<p>Hello, <a href="https://news.example.com/confirm?token=abc">confirm</a> 确认</p>`,
		Headers: map[string]string{"List-Id": "Shanghai 70th <shanghai-70th.news.example.com>"},
	}
	m.SetListUnsubscribe("https://news.example.com/unsubscribe?token=xyz", "unsubscribe@news.example.com")
	return m
}

// CheckParsed parses raw (an RFC 5322 message a transport produced from
// m, with the defaults From "Syndicated <news@example.com>" and Reply-To
// desk@example.com) and reports every header or part that differs from m.
func CheckParsed(t testing.TB, raw []byte, m *mail.Message) {
	t.Helper()
	pm, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := pm.Header
	dec := new(mime.WordDecoder)
	subj, _ := dec.DecodeHeader(h.Get("Subject"))
	if subj != m.Subject {
		t.Errorf("Subject = %q", subj)
	}
	from, err := h.AddressList("From")
	if err != nil || from[0].Address != "news@example.com" || from[0].Name != "Syndicated" {
		t.Errorf("From = %v, %v", from, err)
	}
	to, err := h.AddressList("To")
	if err != nil || to[0].Address != m.To || to[0].Name != m.ToName {
		t.Errorf("To = %v, %v", to, err)
	}
	if got := h.Get("Reply-To"); !strings.Contains(got, "desk@example.com") {
		t.Errorf("Reply-To = %q", got)
	}
	if got := h.Get("Message-Id"); got != "<"+m.MessageID+">" {
		t.Errorf("Message-ID = %q want <%s>", got, m.MessageID)
	}
	if got := h.Get("List-Unsubscribe"); got != "<https://news.example.com/unsubscribe?token=xyz>, <mailto:unsubscribe@news.example.com>" {
		t.Errorf("List-Unsubscribe = %q", got)
	}
	if got := h.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q", got)
	}
	if got := h.Get("List-Id"); got != m.Headers["List-Id"] {
		t.Errorf("List-Id = %q", got)
	}
	if h.Get("Date") == "" {
		t.Error("no Date")
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", h.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(pm.Body, params["boundary"])
	parts := map[string]string{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		var r io.Reader = p // multipart decodes quoted-printable itself
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			t.Fatalf("unexpected base64 part")
		}
		_ = quotedprintable.NewReader
		b, _ := io.ReadAll(r)
		parts[ct] = string(b)
	}
	if strings.ReplaceAll(parts["text/plain"], "\r\n", "\n") != m.Text {
		t.Errorf("text part = %q", parts["text/plain"])
	}
	if strings.TrimRight(parts["text/html"], "\r\n") != m.HTML {
		t.Errorf("html part = %q", parts["text/html"])
	}
}
