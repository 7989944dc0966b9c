// Package mail holds what the domain needs to send email, and nothing that
// talks SMTP or renders HTML: the Message type, the Transport interface and
// the classification of send failures (temporary or permanent, the SMTP
// reply code) that retries and bounce handling rely on. The go-mail SMTP
// transport is in mail/smtp, the .eml spool in mail/spool and the hermes
// rendering in mail/hermes.
package mail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
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
	// Body, when set, is the whole body built ahead (see Template); Text
	// and HTML are then not used.
	Body Body
	// MessageID without angle brackets; generated when empty (and set here
	// once Send has built the message, so callers can record it).
	MessageID string
	Date      time.Time // zero: now
	// Headers are extra headers such as List-Unsubscribe,
	// List-Unsubscribe-Post, List-Id, Precedence. Names and values must not
	// contain CR or LF; address and structural headers (From, To, Subject,
	// Content-*, MIME-Version, Message-ID, Date…) cannot be set here.
	Headers map[string]string
	// EnvelopeFrom is the SMTP envelope sender (MAIL FROM, the
	// Return-Path that delivery status notifications go to), a bare
	// address; empty: the From address. The digest gives each copy its
	// own (VERP, see package bounce).
	EnvelopeFrom string
	// Hold, when not nil, delays the commitment to deliver: a transport
	// may write the message but must not end it (SMTP's final ".", the
	// spool's rename) before Hold is closed. The digest sender holds each
	// copy until the outcome of the worker's previous one is recorded, so
	// that recording overlaps the next transaction.
	Hold <-chan struct{}
	// HoldErr, when not nil, is asked once Hold has closed: an error
	// means the message must not be ended after all (the outcome it
	// waited for could not be recorded), and the send fails with it.
	HoldErr func() error
}

// WaitHold waits for m.Hold to close, or for ctx to end, and returns
// HoldErr's verdict.
func (m *Message) WaitHold(ctx context.Context) error {
	if m.Hold == nil {
		return nil
	}
	select {
	case <-m.Hold:
		if m.HoldErr != nil {
			return m.HoldErr()
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Held reports whether the message may not be ended yet: m.Hold is still
// open, or closed with HoldErr saying no.
func (m *Message) Held() bool {
	if m.Hold == nil {
		return false
	}
	select {
	case <-m.Hold:
		return m.HoldErr != nil && m.HoldErr() != nil
	default:
		return true
	}
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

// ErrBadMessage is wrapped by errors for a message that cannot be sent as
// given (missing recipient, a line break in a header…). It is permanent.
var ErrBadMessage = errors.New("mail: bad message")

// BadMessage returns the permanent *Error for a message that cannot be
// built as given; it wraps ErrBadMessage.
func BadMessage(format string, a ...any) error {
	return &Error{Op: "build", Temporary: false, Err: fmt.Errorf("%w: "+format, append([]any{ErrBadMessage}, a...)...)}
}

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("mail: transport closed")

// Error is what the transports return for a failed send. Its message holds
// the stage, the SMTP reply code and enhanced status code, but never the
// addresses or the server's free text (which often repeats the address);
// Detail gives the full underlying error for debug logs.
type Error struct {
	// Op is the stage that failed: "build", "connect" (dial, TLS, AUTH),
	// "mail" (MAIL FROM), "rcpt" (RCPT TO), "data" (DATA and content),
	// "write" (file transport).
	Op string
	// Code is the SMTP reply code, 0 when there was none (network errors).
	Code int
	// Enhanced is the RFC 3463 enhanced status code when the server sent one.
	Enhanced string
	// Temporary: retrying later may succeed (a 4xx reply, a network failure
	// or dropped connection, a timeout, a failure to connect or
	// authenticate: a server or configuration problem, not the
	// recipient's). Otherwise the failure is permanent: see IsPermanent.
	Temporary bool
	// MaybeDelivered: the message was sent in full and the reply to the
	// final "." never came (timeout, dropped connection). Temporary too.
	MaybeDelivered bool
	// Reply is the server's reply ("554 5.7.1 Relay access denied") or,
	// without one, the network error ("connection refused"), with email
	// addresses masked (MaskAddresses).
	Reply string
	Err   error
}

func (e *Error) Error() string {
	kind := "permanent"
	if e.Temporary {
		kind = "temporary"
	}
	s := fmt.Sprintf("mail: %s failed (%s", e.Op, kind)
	if e.Code != 0 {
		s += ", " + strconv.Itoa(e.Code)
		if e.Enhanced != "" {
			s += " " + e.Enhanced
		}
	}
	s += ")"
	if e.MaybeDelivered {
		s += ", maybe delivered"
	}
	if e.Reply != "" {
		s += ": " + e.Reply
	} else if errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded) || errors.Is(e.Err, ErrBadMessage) {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap gives the underlying error (a go-mail *SendError, a network error,
// a context error…).
func (e *Error) Unwrap() error { return e.Err }

// Detail is the full underlying error text, which may contain addresses:
// log it at debug level only.
func (e *Error) Detail() string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Error()
}

// IsPermanent reports whether err is a send failure that retrying will not
// fix: a 5xx reply to MAIL, RCPT or DATA, or a message that cannot be built.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && !e.Temporary
}
