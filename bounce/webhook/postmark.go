package webhook

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/syndicated/syndicated/bounce"
)

// Postmark does not sign its webhooks; it sends the HTTP Basic
// credentials written into the webhook's URL
// (https://USER:PASSWORD@news.example.com/webhooks/bounce/postmark),
// which are checked here in constant time.
type Postmark struct {
	user, password string
}

// NewPostmark checks calls against these credentials
// (bounce.postmark.username and password).
func NewPostmark(user, password string) (*Postmark, error) {
	if user == "" || len(password) < 16 {
		return nil, errors.New("bounce.postmark: set username and a password of at least 16 characters, and the same in the webhook URL")
	}
	return &Postmark{user: user, password: password}, nil
}

// Source implements Provider.
func (p *Postmark) Source() bounce.Source { return bounce.SourcePostmark }

type postmarkRecord struct {
	RecordType  string
	ID          json.Number
	Type        string
	MessageID   string
	Email       string
	Recipient   string
	Details     string
	Description string
	BouncedAt   string
	ReceivedAt  string
	ChangedAt   string
	// SubscriptionChange
	SuppressSending   bool
	SuppressionReason string
}

// postmarkKinds are Postmark's bounce types that say something about the
// reader (others, such as AutoResponder or OpenRelayTest, do not).
var postmarkKinds = map[string]bounce.Kind{
	"HardBounce": bounce.KindHard, "BadEmailAddress": bounce.KindHard, "ManuallyDeactivated": bounce.KindHard,
	"SoftBounce": bounce.KindSoft, "Transient": bounce.KindSoft, "DnsError": bounce.KindSoft, "Undeliverable": bounce.KindSoft,
	"MailFrontier": bounce.KindSoft, "ChallengeVerification": bounce.KindSoft,
	"Blocked": bounce.KindRejected, "SMTPApiError": bounce.KindRejected, "InboundError": bounce.KindRejected,
	"SpamComplaint": bounce.KindComplaint, "SpamNotification": bounce.KindComplaint,
	"Unsubscribe": bounce.KindUnsubscribe,
}

// Notifications implements Provider.
func (p *Postmark) Notifications(_ context.Context, r *http.Request, body []byte) ([]bounce.Notification, error) {
	user, pass, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(p.user)) != 1 || subtle.ConstantTimeCompare([]byte(pass), []byte(p.password)) != 1 {
		return nil, fmt.Errorf("%w: Postmark call without the configured credentials", bounce.ErrUnauthenticated)
	}
	var rec postmarkRecord
	if err := json.Unmarshal(body, &rec); err != nil {
		return nil, fmt.Errorf("%w: Postmark record: %v", bounce.ErrMalformed, err)
	}
	n := bounce.Notification{Source: bounce.SourcePostmark, Authenticated: true,
		ID: rec.RecordType + "/" + firstOf(rec.ID.String(), rec.MessageID+"/"+rec.ChangedAt)}
	r0 := bounce.Report{Recipient: firstOf(rec.Email, rec.Recipient), EventID: rec.ID.String(),
		Diagnostic: firstOf(rec.Details, rec.Description, rec.Type)}
	code, status := replyCodes(rec.Details)
	r0.Code, r0.Status = code, status
	switch rec.RecordType {
	case "Bounce", "SpamComplaint":
		kind, ok := postmarkKinds[rec.Type]
		if !ok {
			n.What = fmt.Sprintf("a Postmark %q bounce", rec.Type)
			break
		}
		if kind == bounce.KindHard || kind == bounce.KindSoft {
			// A quoted reply decides, as for mail; else Postmark's type.
			if k, ok := bounce.Classify("failed", status, code); ok && (status != "" || code != 0) {
				kind = k
			}
		}
		r0.Kind, r0.At = kind, parseTime(firstOf(rec.BouncedAt, rec.ReceivedAt))
		n.Reports = append(n.Reports, r0)
	case "SubscriptionChange":
		if !rec.SuppressSending || rec.SuppressionReason != "ManualSuppression" {
			n.What = "a Postmark subscription change that is no unsubscribe"
			break
		}
		r0.Kind, r0.Diagnostic, r0.At = bounce.KindUnsubscribe, "unsubscribed through Postmark", parseTime(rec.ChangedAt)
		n.Reports = append(n.Reports, r0)
	default:
		n.What = "a Postmark " + strconv.Quote(rec.RecordType) + " record"
	}
	return []bounce.Notification{n}, nil
}
