package smtp

import (
	"context"
	"errors"
	"fmt"
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
		return te.Code, ""
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
	var se *gomail.SendError
	if errors.As(err, &se) {
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

// classifySend wraps an error from the SMTP transaction of one message. A
// failure after the whole message was written, with no reply (a timeout,
// a dropped connection), is "maybe delivered": the server may have
// accepted it.
func classifySend(ctx context.Context, err error) error {
	e := &mail.Error{Op: "data", Err: err, Reply: reply(err)}
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
	if ctxErr := ctx.Err(); ctxErr != nil {
		e.Err = fmt.Errorf("%w (%v)", ctxErr, err)
		e.Code, e.Enhanced = 0, ""
	}
	switch {
	case e.Code >= 500 && e.Code < 600:
		e.Temporary = false
	default:
		// 4xx, no code at all (EOF, reset, timeout), anything unexpected.
		e.Temporary = true
		e.MaybeDelivered = e.Code == 0 && se != nil && se.Reason == gomail.ErrSMTPDataClose
	}
	return e
}
