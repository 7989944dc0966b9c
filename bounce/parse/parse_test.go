package parse

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/syndicated/syndicated/bounce"
)

const verpAddr = "bounces+t0ken@bounce.example.org"

// The fixtures imitate what mail servers send back (written for these
// tests, with documentation addresses): each names the message's format,
// what it reports, and the addresses that name the copy.
func TestFixtures(t *testing.T) {
	cases := []struct {
		file      string
		format    Format
		kind      bounce.Kind // "" when it reports nothing
		status    string
		code      int
		recipient string
		origID    string
		diag      string // a substring of the diagnostic
		what      string // a substring of What, when it reports nothing
		quoted    bool   // the VERP address is quoted inside, not only in the header
		malformed bool
	}{
		{file: "postfix-dsn-hard.eml", format: FormatDSN, kind: bounce.KindHard, status: "5.1.1", code: 550,
			recipient: "gone.reader@mail.example.net", origID: "digest.shanghai-70th.2019-W22.42@news.example.com",
			diag: "User unknown in virtual mailbox table", quoted: true},
		{file: "postfix-dsn-delayed.eml", format: FormatDSN, kind: bounce.KindSoft, status: "4.4.1",
			recipient: "slow.reader@mail.example.net", origID: "digest.shanghai-70th.2019-W22.43@news.example.com", diag: "Connection timed out"},
		{file: "postfix-dsn-policy.eml", format: FormatDSN, kind: bounce.KindRejected, status: "5.7.1", code: 554,
			recipient: "reader@strict.example.net", diag: "blocked using"},
		{file: "postfix-dsn-full.eml", format: FormatDSN, kind: bounce.KindSoft, status: "5.2.2", code: 552,
			recipient: "full.reader@mail.example.net", origID: "digest.shanghai-70th.2019-W22.44@news.example.com", diag: "over quota", quoted: true},
		{file: "postfix-text-only.eml", format: FormatText, kind: bounce.KindHard, status: "5.1.1", code: 550, diag: "550 5.1.1"},
		{file: "exim-failed.eml", format: FormatText, kind: bounce.KindHard, status: "5.1.1", code: 550,
			recipient: "old.friend@isp.example.co.uk", diag: "Recipient address rejected"},
		{file: "exim-quota.eml", format: FormatText, kind: bounce.KindSoft, status: "5.2.2", recipient: "busy@isp.example.co.uk", diag: "mailbox is full"},
		{file: "exchange-ndr.eml", format: FormatText, kind: bounce.KindHard, status: "5.1.10", code: 550,
			origID: "digest.shanghai-70th.2019-W22.47@news.example.com", diag: "RESOLVER.ADR.RecipientNotFound", quoted: true},
		{file: "exchange-legacy.eml", format: FormatText, kind: bounce.KindHard, status: "5.1.1", code: 550, diag: "RecipNotFound"},
		{file: "gmail-nouser.eml", format: FormatText, kind: bounce.KindHard, status: "5.1.1", code: 550, diag: "does not exist"},
		{file: "gmail-delay.eml", format: FormatText, kind: bounce.KindSoft},
		{file: "arf-abuse.eml", format: FormatARF, kind: bounce.KindComplaint, recipient: "annoyed@mailbox.example.net",
			origID: "digest.shanghai-70th.2019-W22.48@news.example.com", diag: "abuse", quoted: true},
		{file: "arf-redacted.eml", format: FormatARF, kind: bounce.KindComplaint,
			origID: "digest.shanghai-70th.2019-W22.49@news.example.com", quoted: true},
		{file: "arf-not-spam.eml", format: FormatARF, what: `type "not-spam"`},
		{file: "autoreply.eml", what: "auto-reply"},
		{file: "dsn-relayed.eml", format: FormatDSN, what: "without a failure"},
		{file: "dsn-base64-latin1.eml", format: FormatDSN, kind: bounce.KindHard, status: "5.2.1", code: 550,
			recipient: "parti@exemple.example", diag: "Boîte désactivée"},
		{file: "malformed-header.eml", what: "malformed", malformed: true},
		{file: "malformed-multipart.eml", format: FormatDSN, what: "malformed", malformed: true},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			p, err := Message(raw)
			if c.malformed != (err != nil) {
				t.Fatalf("err = %v, want malformed %v", err, c.malformed)
			}
			if err != nil && !errors.Is(err, bounce.ErrMalformed) {
				t.Errorf("err %v does not wrap ErrMalformed", err)
			}
			if p.Format != c.format {
				t.Errorf("format %q, want %q", p.Format, c.format)
			}
			if c.kind == "" {
				if len(p.Reports) != 0 {
					t.Fatalf("reports %+v, want none", p.Reports)
				}
				if !strings.Contains(p.What, c.what) {
					t.Errorf("what %q, want it to say %q", p.What, c.what)
				}
				return
			}
			if len(p.Reports) != 1 {
				t.Fatalf("%d reports %+v, want 1", len(p.Reports), p.Reports)
			}
			r := p.Reports[0]
			if r.Kind != c.kind || r.Status != c.status || r.Code != c.code {
				t.Errorf("kind %s status %q code %d, want %s %q %d", r.Kind, r.Status, r.Code, c.kind, c.status, c.code)
			}
			if r.Recipient != c.recipient {
				t.Errorf("recipient %q, want %q", r.Recipient, c.recipient)
			}
			if r.MessageID != c.origID {
				t.Errorf("original Message-ID %q, want %q", r.MessageID, c.origID)
			}
			if !strings.Contains(r.Diagnostic, c.diag) {
				t.Errorf("diagnostic %q lacks %q", r.Diagnostic, c.diag)
			}
			if p.MessageID == "" {
				t.Error("the notification's own Message-ID was not read")
			}
			n := strings.Count(strings.Join(p.Addresses, " "), verpAddr)
			if n == 0 {
				t.Errorf("addresses %q lack the VERP address", p.Addresses)
			}
			if c.quoted && n < 2 && c.file != "arf-redacted.eml" {
				t.Errorf("addresses %q: want the VERP address from the header and quoted", p.Addresses)
			}
		})
	}
}

// The text of a non-standard bounce is read only up to the returned copy:
// the digest's own words ("450 residents", "policy", "blocked") say
// nothing about the delivery.
func TestTextStopsAtTheReturnedCopy(t *testing.T) {
	raw, err := os.ReadFile("testdata/exim-failed.eml")
	if err != nil {
		t.Fatal(err)
	}
	// Without the server's reply, only the copy's words are left.
	s := strings.Replace(string(raw), "550 5.1.1 <old.friend@isp.example.co.uk>: Recipient address rejected: User unknown", "connection lost", 1)
	p, _ := Message([]byte(s))
	if len(p.Reports) != 0 {
		t.Fatalf("reports %+v from the returned copy's text", p.Reports)
	}
}

// A message that merely says "user unknown" is no bounce unless it comes
// from a mailer daemon or has a bounce's subject.
func TestOrdinaryMailIsNoBounce(t *testing.T) {
	msg := "From: A Reader <reader@mail.example.net>\r\nTo: " + verpAddr + "\r\nSubject: Re: your digest\r\n" +
		"Message-ID: <r1@mail.example.net>\r\n\r\nThanks! By the way, user unknown 550 5.1.1 is what my old address says.\r\n"
	p, err := Message([]byte(msg))
	if err != nil || len(p.Reports) != 0 {
		t.Fatalf("reports %+v, err %v; want none", p.Reports, err)
	}
}

func TestNotificationID(t *testing.T) {
	raw, _ := os.ReadFile("testdata/postfix-dsn-hard.eml")
	n, err := Notification(bounce.SourceSMTP, raw, []string{"bounces+env@bounce.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if n.ID != "20190527010003.4QxZk70n2Hz9sWx@relay.news.example.com" || n.Addresses[0] != "bounces+env@bounce.example.org" {
		t.Errorf("id %q addresses %q", n.ID, n.Addresses)
	}
	noID := []byte("From: MAILER-DAEMON@x.example\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\n550 5.1.1 user unknown\r\n")
	a, _ := Notification(bounce.SourceIMAP, noID, nil)
	b, _ := Notification(bounce.SourceIMAP, noID, nil)
	c, _ := Notification(bounce.SourceIMAP, append(noID, '.'), nil)
	if !strings.HasPrefix(a.ID, "sha256:") || a.ID != b.ID || a.ID == c.ID {
		t.Errorf("ids without Message-ID: %q %q %q", a.ID, b.ID, c.ID)
	}
	if !slices.Equal(a.Addresses, []string(nil)) && len(a.Addresses) != 0 {
		t.Errorf("addresses %q", a.Addresses)
	}
}

// Bombs: deep nesting and many parts are read up to a bound, quickly.
func TestNestingBound(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: MAILER-DAEMON@x.example\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n")
	for i := range 200 {
		b.WriteString("Content-Type: multipart/mixed; boundary=\"b" + strings.Repeat("x", i) + "\"\r\n\r\n--b" + strings.Repeat("x", i) + "\r\n")
	}
	b.WriteString("Content-Type: text/plain\r\n\r\n550 5.1.1 user unknown\r\n")
	p, _ := Message([]byte(b.String()))
	if len(p.Reports) != 0 {
		t.Errorf("read a report %d levels down: %+v", 200, p.Reports)
	}
}
