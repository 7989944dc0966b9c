package bounce

import (
	"strings"

	"github.com/syndicated/syndicated/mail"
)

// Classify is what a failure means, from what a notification says of it:
// the DSN Action ("failed", "delayed"; empty when it has none), the RFC
// 3463 enhanced status ("5.1.1"; empty when unknown) and the basic reply
// code (550; 0 when unknown). ok is false when it reports no failure (a
// delivery, a relay, an expansion, a 2.x.x status, or nothing to go on).
//
// A hard bounce is decided by the table the digest uses for synchronous
// replies (mail.IsMailboxUnknown: 5.1.1, 5.1.2, 5.1.3, 5.1.6, 5.1.10,
// 5.2.1, or without an enhanced code 550, 551, 553), so a copy refused at
// RCPT and one refused by the relay's next hop count alike. A policy
// refusal (X.7.X) is KindRejected, as the digest never bounces on one;
// every other failure (4.x.x, a delay, 5.2.2 mailbox full, 5.4.x routing,
// 5.3.x system) is KindSoft.
func Classify(action, status string, code int) (kind Kind, ok bool) {
	action = strings.ToLower(strings.TrimSpace(action))
	switch action {
	case "delivered", "relayed", "expanded":
		return "", false
	case "delayed":
		if policy(status) {
			return KindRejected, true
		}
		return KindSoft, true
	}
	class := byte(0)
	switch {
	case len(status) > 0:
		class = status[0]
	case code >= 200 && code < 600:
		class = byte('0' + code/100)
	}
	switch class {
	case '2':
		return "", false
	case '4':
		if policy(status) {
			return KindRejected, true
		}
		return KindSoft, true
	case '5':
		basic := code
		if basic < 500 || basic > 599 {
			basic = 500 // the enhanced code decides; IsMailboxUnknown wants a 5xx
		}
		switch {
		case mail.IsMailboxUnknown(basic, status):
			return KindHard, true
		case policy(status):
			return KindRejected, true
		default:
			return KindSoft, true
		}
	}
	if action == "failed" {
		return KindSoft, true // failed, without a code saying how
	}
	return "", false
}

// policy: an enhanced status of the security or policy class (X.7.X).
func policy(status string) bool {
	_, rest, ok := strings.Cut(status, ".")
	return ok && strings.HasPrefix(rest, "7.")
}
