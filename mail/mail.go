// Package mail sends email: a Transport interface, an SMTP implementation on
// github.com/wneessen/go-mail configured from a URL, a file transport that
// writes .eml files when no SMTP server is configured, and error
// classification (temporary versus permanent) for retries and bounces.
package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Transport sends one message. Implementations are safe for concurrent use
// by several workers.
type Transport interface {
	Send(ctx context.Context, m *Message) error
}

// Mailer is a Transport that holds resources (connections) and can describe
// where mail goes without revealing credentials.
type Mailer interface {
	Transport
	io.Closer
	// String says where mail goes, e.g. "smtp://mail.example.com:587
	// (STARTTLS mandatory)" or "files under data/mail"; never a password.
	String() string
}

// Message is one email to one recipient.
type Message struct {
	From    string // "Name <addr>" or addr; empty: the transport's default
	ReplyTo string // empty: the transport's default
	To      string // the recipient address
	ToName  string // optional display name of the recipient
	Subject string
	Text    string // text/plain part
	HTML    string // text/html part (optional)
	// MessageID without angle brackets; generated when empty (and set here
	// once Send has built the message, so callers can record it).
	MessageID string
	Date      time.Time // zero: now
	// Headers are extra headers such as List-Unsubscribe,
	// List-Unsubscribe-Post, List-Id, Precedence. Names and values must not
	// contain CR or LF; address and structural headers (From, To, Subject,
	// Content-*, MIME-Version, Message-ID, Date…) cannot be set here.
	Headers map[string]string
}

// SetListUnsubscribe sets List-Unsubscribe (with an https URL and, when
// mailto is not empty, a mailto address) and the RFC 8058 one-click header.
func (m *Message) SetListUnsubscribe(httpsURL, mailto string) {
	if m.Headers == nil {
		m.Headers = map[string]string{}
	}
	v := "<" + httpsURL + ">"
	if mailto != "" {
		if !strings.HasPrefix(mailto, "mailto:") {
			mailto = "mailto:" + mailto
		}
		v += ", <" + mailto + ">"
	}
	m.Headers["List-Unsubscribe"] = v
	m.Headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
}

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

// ErrBadMessage is wrapped by errors for a message that cannot be sent as
// given (missing recipient, a line break in a header…). It is permanent.
var ErrBadMessage = errors.New("mail: bad message")

func badMessage(format string, a ...any) error {
	return &Error{Op: "build", Temporary: false, Err: fmt.Errorf("%w: "+format, append([]any{ErrBadMessage}, a...)...)}
}

// build turns m into a go-mail message, applying the defaults.
func build(m *Message, defFrom, defReplyTo string, now time.Time) (*gomail.Msg, error) {
	if m == nil {
		return nil, badMessage("nil message")
	}
	from := m.From
	if from == "" {
		from = defFrom
	}
	replyTo := m.ReplyTo
	if replyTo == "" {
		replyTo = defReplyTo
	}
	for name, v := range map[string]string{"From": from, "Reply-To": replyTo, "To": m.To, "recipient name": m.ToName, "Subject": m.Subject, "Message-ID": m.MessageID} {
		if !noBreak(v) {
			return nil, badMessage("%s contains a line break", name)
		}
	}
	if from == "" {
		return nil, badMessage("no From address (configure one)")
	}
	if m.To == "" {
		return nil, badMessage("no recipient")
	}
	if m.Text == "" && m.HTML == "" {
		return nil, badMessage("empty body")
	}
	fromAddr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, badMessage("From: %v", err)
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(fromAddr)
	if replyTo != "" {
		if err := msg.ReplyTo(replyTo); err != nil {
			return nil, badMessage("Reply-To: %v", err)
		}
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil || to.Name != "" {
		return nil, badMessage("To: not a bare address")
	}
	to.Name = m.ToName
	msg.ToMailAddress(to)
	msg.Subject(m.Subject)
	if m.MessageID == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		domain := "syndicated.local"
		if at := strings.LastIndexByte(fromAddr.Address, '@'); at >= 0 {
			domain = fromAddr.Address[at+1:]
		}
		m.MessageID = hex.EncodeToString(b[:]) + "@" + domain
	}
	msg.SetMessageIDWithValue(strings.Trim(m.MessageID, "<>"))
	date := m.Date
	if date.IsZero() {
		date = now
	}
	msg.SetDateWithValue(date)
	names := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := m.Headers[k]
		if !validHeaderName(k) || !noBreak(v) {
			return nil, badMessage("header %q is malformed or contains a line break", k)
		}
		if reservedHeaders[strings.ToLower(k)] {
			return nil, badMessage("header %q cannot be set through Headers", k)
		}
		msg.SetGenHeaderPreformatted(gomail.Header(k), v)
	}
	switch {
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

// Config says how to send mail.
type Config struct {
	// URL is smtp.url: smtp://[user[:pass]@]host[:port][?tls=opportunistic|mandatory|none]
	// (STARTTLS policy; default mandatory, port 587) or smtps://… (implicit
	// TLS, port 465). Further query keys: auth=plain|login|cram-md5|
	// scram-sha-256|auto (default plain when a user is given), timeout=30s,
	// conns=4 (connections at most), helo=NAME, insecure_skip_verify=true
	// (tests only). Empty: the file transport under DataDir/mail.
	URL     string
	From    string // default From, e.g. "Syndicated <news@example.com>"
	ReplyTo string // default Reply-To (optional)
	DataDir string // for the file transport; default "data"
	// Timeout bounds dialing and each SMTP command (default 30 s); the URL's
	// timeout= overrides it.
	Timeout time.Duration
	// Conns is how many SMTP connections may be open at once (default 4);
	// the URL's conns= overrides it.
	Conns  int
	Logger *slog.Logger
	Now    func() time.Time // default time.Now
}

// Open returns the transport cfg names: SMTP when cfg.URL is set, otherwise
// the file transport. It does not connect yet. It logs once, at info level,
// where mail goes (never the password).
func Open(cfg Config) (Mailer, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if strings.TrimSpace(cfg.URL) == "" {
		dir := cfg.DataDir
		if dir == "" {
			dir = "data"
		}
		f, err := NewFileTransport(filepath.Join(dir, "mail"), cfg.From, cfg.ReplyTo, cfg.Now)
		if err != nil {
			return nil, err
		}
		cfg.Logger.Info("no SMTP server configured (smtp.url): mail is written as .eml files", "dir", f.Dir())
		return f, nil
	}
	s, err := NewSMTP(cfg)
	if err != nil {
		return nil, err
	}
	cfg.Logger.Info("mail goes over SMTP", "server", s.String())
	return s, nil
}

// RedactURL returns u with any password replaced, for logs.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparseable URL)"
	}
	return p.Redacted()
}
