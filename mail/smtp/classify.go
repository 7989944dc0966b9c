package smtp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"

	gomail "github.com/wneessen/go-mail"

	"github.com/syndicated/syndicated/mail"
)

// smtpCode finds a reply code in err: go-mail's SendError, a
// textproto.Error, or a leading three-digit number.
func smtpCode(err error) (int, string) {
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() != 0 {
		return se.ErrorCode(), se.EnhancedStatusCode()
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code, enhancedRE.FindString(strings.TrimSpace(te.Msg))
	}
	return 0, ""
}

var replyRE = regexp.MustCompile(`\b[245]\d\d[ -].*`)

// reply is the server's reply in err ("554 5.7.1 Relay access denied")
// or, when there is none, the error's own text, addresses masked.
func reply(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	var te *textproto.Error
	var se *gomail.SendError
	if errors.As(err, &te) {
		s = strconv.Itoa(te.Code) + " " + te.Msg // its Error() quotes the text
	} else if errors.As(err, &se) {
		// "<reason>: <reply>, affected recipient(s): …, affected message ID: …"
		s, _, _ = strings.Cut(s, ", affected ")
		if se.ErrorCode() != 0 {
			if m := replyRE.FindString(s); m != "" {
				s = m
			}
			// go-mail quotes the text: 554 "5.7.1 Relay access denied"
			if code, text, ok := strings.Cut(s, " "); ok {
				if u, err := strconv.Unquote(text); err == nil {
					s = code + " " + u
				}
			}
		}
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return mail.MaskAddresses(s)
}

// classifyConnect wraps an error from dialing, STARTTLS or AUTH. These are
// always temporary: they say nothing about the recipient.
func classifyConnect(err error) error {
	code, enh := smtpCode(err)
	return &mail.Error{Op: "connect", Code: code, Enhanced: enh, Temporary: true, Reply: reply(err), Err: err}
}

var enhancedRE = regexp.MustCompile(`^[245]\.\d{1,3}\.\d{1,3}\b`)

// classify turns a failed transaction into a *mail.Error.
func classify(ctx context.Context, o outcome) error {
	e := &mail.Error{Op: [...]string{"mail", "rcpt", "data", "data", "data"}[o.stage], Err: o.err}
	if e.Code, e.Enhanced = smtpCode(o.err); e.Code != 0 {
		e.Reply = reply(o.err)
		e.Temporary = e.Code < 500 || e.Code > 599
		return e
	}
	e.Temporary = true
	e.Reply = mail.MaskAddresses(networkError(o.err))
	if ctxErr := ctx.Err(); ctxErr != nil {
		e.Err = fmt.Errorf("%w (%v)", ctxErr, o.err)
	}
	// The whole message and its "." went out and no reply came: the
	// server may have accepted it.
	e.MaybeDelivered = o.stage == stageEnd
	return e
}

// networkError is err's text without the addresses of the connection.
func networkError(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Op + ": " + oe.Err.Error()
	}
	return err.Error()
}
