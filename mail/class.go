package mail

import (
	"errors"
	"regexp"
	"strings"
)

// Class is what a failed send means for the delivery and the subscriber.
type Class string

const (
	// ClassBounce: the server said the mailbox does not exist (or is
	// disabled): the subscriber is marked bounced. See IsMailboxUnknown.
	ClassBounce Class = "bounce"
	// ClassRejected: a permanent refusal that is not about the mailbox
	// (policy, relay, authentication, content, a message we could not
	// build): this delivery fails, the subscriber is left alone.
	ClassRejected Class = "rejected"
	// ClassTemporary: try again later (4xx, a network failure, a refused
	// connection, a timeout before the message was handed over).
	ClassTemporary Class = "temporary"
	// ClassMaybeDelivered: the whole message was sent but no reply to the
	// final "." came (timeout, dropped connection). The server may have
	// accepted it, so it is retried late, not at once.
	ClassMaybeDelivered Class = "maybe-delivered"
)

// bounceCodes are the RFC 3463 enhanced status codes (after the leading
// "5.") that say the recipient's mailbox does not exist or cannot receive
// mail at all: bad mailbox (1.1), bad system (1.2), bad address syntax
// (1.3), mailbox moved (1.6), no mail accepted by the domain (1.10, null
// MX), mailbox disabled (2.1).
var bounceCodes = map[string]bool{"1.1": true, "1.2": true, "1.3": true, "1.6": true, "1.10": true, "2.1": true}

// IsMailboxUnknown reports whether a permanent reply to RCPT TO says that
// the mailbox does not exist. With an enhanced status code only the codes
// above count; any other (5.7.x policy or relay, 5.3.x and 5.4.x system and
// network, 5.5.x protocol, 5.2.2 mailbox full…) does not. Without one, the
// basic codes 550 (mailbox unavailable), 551 (user not local) and 553
// (mailbox name not allowed) count, following RFC 5321 §4.2.3.
func IsMailboxUnknown(code int, enhanced string) bool {
	if code < 500 || code > 599 {
		return false
	}
	if enhanced != "" {
		rest, ok := strings.CutPrefix(enhanced, "5.")
		return ok && bounceCodes[rest]
	}
	return code == 550 || code == 551 || code == 553
}

// ClassOf classifies err, a send failure (nil gives "").
func ClassOf(err error) Class {
	if err == nil {
		return ""
	}
	var e *Error
	if !errors.As(err, &e) {
		return ClassTemporary // unclassified: try again
	}
	switch {
	case e.MaybeDelivered:
		return ClassMaybeDelivered
	case e.Temporary:
		return ClassTemporary
	case e.Op == "rcpt" && IsMailboxUnknown(e.Code, e.Enhanced):
		return ClassBounce
	default:
		return ClassRejected
	}
}

var addrRE = regexp.MustCompile(`<?[^\s<>@,;:"]+@[^\s<>@,;:"]+>?`)

// MaskAddresses replaces every email address in s with "<address>": server
// replies often repeat the recipient, which must not reach logs or the
// outbox's error column.
func MaskAddresses(s string) string { return addrRE.ReplaceAllString(s, "<address>") }
