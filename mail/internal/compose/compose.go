// Package compose turns a mail.Message into a go-mail message, applying
// the transport's defaults and refusing what cannot be sent safely (line
// breaks in headers, reserved headers, no recipient). The SMTP transport and
// the .eml spool share it.
package compose

import (
	"crypto/rand"
	"encoding/hex"
	"net/mail"
	"sort"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	smail "github.com/syndicated/syndicated/mail"
)

var reservedHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "reply-to": true, "sender": true,
	"subject": true, "date": true, "message-id": true, "mime-version": true,
	"content-type": true, "content-transfer-encoding": true, "return-path": true,
}

func validHeaderName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c <= ' ' || c >= 127 || c == ':' {
			return false
		}
	}
	return true
}

func noBreak(s string) bool { return !strings.ContainsAny(s, "\r\n\x00") }

// envelope is m checked, with the transport's defaults applied.
type envelope struct {
	from     *mail.Address
	mailFrom string // the envelope sender: m.EnvelopeFrom or from's address
	replyTo  string
	to       *mail.Address // with m.ToName
	date     time.Time
	headers  []string // names of m.Headers, sorted
}

// check applies the defaults to m, refuses what cannot be sent safely,
// and gives m a Message-ID when it has none.
func check(m *smail.Message, defFrom, defReplyTo string, now time.Time) (*envelope, error) {
	if m == nil {
		return nil, smail.BadMessage("nil message")
	}
	from := m.From
	if from == "" {
		from = defFrom
	}
	replyTo := m.ReplyTo
	if replyTo == "" {
		replyTo = defReplyTo
	}
	for _, f := range [...]struct{ name, v string }{{"From", from}, {"Reply-To", replyTo}, {"To", m.To}, {"envelope sender", m.EnvelopeFrom},
		{"recipient name", m.ToName}, {"Subject", m.Subject}, {"Message-ID", m.MessageID}} {
		if !noBreak(f.v) {
			return nil, smail.BadMessage("%s contains a line break", f.name)
		}
	}
	if from == "" {
		return nil, smail.BadMessage("no From address (configure one)")
	}
	if m.To == "" {
		return nil, smail.BadMessage("no recipient")
	}
	if m.Text == "" && m.HTML == "" && m.Body == nil {
		return nil, smail.BadMessage("empty body")
	}
	fromAddr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, smail.BadMessage("From: %v", err)
	}
	if replyTo != "" {
		if _, err := mail.ParseAddress(replyTo); err != nil {
			return nil, smail.BadMessage("Reply-To: %v", err)
		}
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil || to.Name != "" {
		return nil, smail.BadMessage("To: not a bare address")
	}
	to.Name = m.ToName
	if m.MessageID == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		domain := "syndicated.local"
		if at := strings.LastIndexByte(fromAddr.Address, '@'); at >= 0 {
			domain = fromAddr.Address[at+1:]
		}
		m.MessageID = hex.EncodeToString(b[:]) + "@" + domain
	}
	env := &envelope{from: fromAddr, mailFrom: fromAddr.Address, replyTo: replyTo, to: to, date: m.Date}
	if m.EnvelopeFrom != "" {
		a, err := mail.ParseAddress(m.EnvelopeFrom)
		if err != nil || a.Name != "" || strings.Contains(m.EnvelopeFrom, "<") {
			return nil, smail.BadMessage("envelope sender: not a bare address")
		}
		env.mailFrom = a.Address
	}
	if env.date.IsZero() {
		env.date = now
	}
	for k, v := range m.Headers {
		if !validHeaderName(k) || !noBreak(v) {
			return nil, smail.BadMessage("header %q is malformed or contains a line break", k)
		}
		if reservedHeaders[strings.ToLower(k)] {
			return nil, smail.BadMessage("header %q cannot be set through Headers", k)
		}
		env.headers = append(env.headers, k)
	}
	sort.Strings(env.headers)
	return env, nil
}

// Build turns m into a go-mail message, applying the defaults, and gives
// its SMTP envelope.
func Build(m *smail.Message, defFrom, defReplyTo string, now time.Time) (*gomail.Msg, Envelope, error) {
	env, err := check(m, defFrom, defReplyTo, now)
	if err != nil {
		return nil, Envelope{}, err
	}
	msg, err := build(m, env)
	return msg, Envelope{From: env.mailFrom, To: env.to.Address}, err
}

func build(m *smail.Message, env *envelope) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(env.from)
	if env.replyTo != "" {
		if err := msg.ReplyTo(env.replyTo); err != nil {
			return nil, smail.BadMessage("Reply-To: %v", err)
		}
	}
	msg.ToMailAddress(env.to)
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(strings.Trim(m.MessageID, "<>"))
	msg.SetDateWithValue(env.date)
	for _, k := range env.headers {
		msg.SetGenHeaderPreformatted(gomail.Header(k), m.Headers[k])
	}
	switch {
	case m.Body != nil:
		// Already encoded as 7-bit lines: written as it is, after the
		// headers (the part's "8bit" label is the identity encoding).
		msg.SetBodyWriter(gomail.ContentType(m.Body.ContentType()), m.Body.WriteTo, gomail.WithPartEncoding(gomail.NoEncoding))
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	case m.Text != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	default:
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}
