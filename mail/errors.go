package mail

import (
	"context"
	"errors"
	"fmt"
	"net/textproto"
	"strconv"

	gomail "github.com/wneessen/go-mail"
)

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
	// Temporary: retrying later may succeed.
	Temporary bool
	Err       error
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
	if errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded) || errors.Is(e.Err, ErrBadMessage) {
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

// IsTemporary reports whether err is a send failure worth retrying later: a
// 4xx reply, a network failure or dropped connection, a timeout, a failure to
// connect or authenticate (a server or configuration problem, not the
// recipient's).
func IsTemporary(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Temporary
}

// IsPermanent reports whether err is a send failure that retrying will not
// fix: a 5xx reply to MAIL, RCPT or DATA, or a message that cannot be built.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && !e.Temporary
}

// IsRecipientRejected reports a permanent rejection of the recipient
// address itself (5xx to RCPT TO): a hard bounce.
func IsRecipientRejected(err error) bool {
	var e *Error
	return errors.As(err, &e) && !e.Temporary && e.Op == "rcpt"
}

// Code returns the SMTP reply code in err, 0 when there is none.
func Code(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// smtpCode finds a reply code in err: go-mail's SendError, a
// textproto.Error, or a leading three-digit number.
func smtpCode(err error) (int, string) {
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() != 0 {
		return se.ErrorCode(), se.EnhancedStatusCode()
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code, ""
	}
	return 0, ""
}

// classifyConnect wraps an error from dialing, STARTTLS or AUTH. These are
// always temporary: they say nothing about the recipient.
func classifyConnect(err error) error {
	code, enh := smtpCode(err)
	return &Error{Op: "connect", Code: code, Enhanced: enh, Temporary: true, Err: err}
}

// classifySend wraps an error from the SMTP transaction of one message.
func classifySend(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return &Error{Op: "data", Temporary: true, Err: fmt.Errorf("%w (%v)", ctxErr, err)}
	}
	e := &Error{Op: "data", Err: err}
	var se *gomail.SendError
	if errors.As(err, &se) {
		switch se.Reason {
		case gomail.ErrSMTPMailFrom:
			e.Op = "mail"
		case gomail.ErrSMTPRcptTo:
			e.Op = "rcpt"
		case gomail.ErrConnCheck:
			e.Op = "connect"
		case gomail.ErrGetSender, gomail.ErrGetRcpts, gomail.ErrNoUnencoded:
			e.Op = "build"
			return e // permanent: the message itself is wrong
		}
	}
	e.Code, e.Enhanced = smtpCode(err)
	switch {
	case e.Code >= 500 && e.Code < 600:
		e.Temporary = false
	default:
		// 4xx, no code at all (EOF, reset, timeout), anything unexpected.
		e.Temporary = true
	}
	return e
}
