package smtp

import (
	"context"
	"errors"
	"fmt"
	"net/textproto"

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

// classifyConnect wraps an error from dialing, STARTTLS or AUTH. These are
// always temporary: they say nothing about the recipient.
func classifyConnect(err error) error {
	code, enh := smtpCode(err)
	return &mail.Error{Op: "connect", Code: code, Enhanced: enh, Temporary: true, Err: err}
}

// classifySend wraps an error from the SMTP transaction of one message.
func classifySend(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return &mail.Error{Op: "data", Temporary: true, Err: fmt.Errorf("%w (%v)", ctxErr, err)}
	}
	e := &mail.Error{Op: "data", Err: err}
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
