package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/syndicated/syndicated/bounce"
)

// Mailgun signs each webhook call with its HTTP webhook signing key:
// signature.signature is the hex HMAC-SHA256 of signature.timestamp
// followed by signature.token. A call signed longer ago than MaxAge, or
// in the future by as much, is refused.
type Mailgun struct {
	key    []byte
	maxAge time.Duration
	now    func() time.Time
}

// DefaultMaxAge is how old a signed webhook call may be.
const DefaultMaxAge = 24 * time.Hour

// NewMailgun checks calls with signingKey (bounce.mailgun.signing_key).
func NewMailgun(signingKey string, maxAge time.Duration, now func() time.Time) (*Mailgun, error) {
	if len(signingKey) < 16 {
		return nil, errors.New("bounce.mailgun.signing_key: set it to Mailgun's HTTP webhook signing key")
	}
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if now == nil {
		now = time.Now
	}
	return &Mailgun{key: []byte(signingKey), maxAge: maxAge, now: now}, nil
}

// Source implements Provider.
func (m *Mailgun) Source() bounce.Source { return bounce.SourceMailgun }

type mailgunCall struct {
	Signature struct {
		Timestamp string `json:"timestamp"`
		Token     string `json:"token"`
		Signature string `json:"signature"`
	} `json:"signature"`
	EventData json.RawMessage `json:"event-data"`
}

type mailgunEvent struct {
	ID        string  `json:"id"`
	Event     string  `json:"event"`
	Severity  string  `json:"severity"`
	Reason    string  `json:"reason"`
	Recipient string  `json:"recipient"`
	Timestamp float64 `json:"timestamp"`
	Message   struct {
		Headers struct {
			MessageID string `json:"message-id"`
		} `json:"headers"`
	} `json:"message"`
	DeliveryStatus struct {
		Code         int    `json:"code"`
		EnhancedCode string `json:"enhanced-code"`
		Message      string `json:"message"`
		Description  string `json:"description"`
	} `json:"delivery-status"`
}

// Notifications implements Provider.
func (m *Mailgun) Notifications(_ context.Context, _ *http.Request, body []byte) ([]bounce.Notification, error) {
	var c mailgunCall
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("%w: Mailgun call: %v", bounce.ErrMalformed, err)
	}
	s := c.Signature
	ts, err := strconv.ParseInt(s.Timestamp, 10, 64)
	if err != nil || s.Token == "" {
		return nil, fmt.Errorf("%w: Mailgun call without a signature", bounce.ErrUnauthenticated)
	}
	mac := hmac.New(sha256.New, m.key)
	mac.Write([]byte(s.Timestamp + s.Token))
	got, err := hex.DecodeString(s.Signature)
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		return nil, fmt.Errorf("%w: Mailgun signature does not verify", bounce.ErrUnauthenticated)
	}
	if age := m.now().Sub(time.Unix(ts, 0)); math.Abs(float64(age)) > float64(m.maxAge) {
		return nil, fmt.Errorf("%w: Mailgun call signed %s ago, more than %s", bounce.ErrUnauthenticated, age.Round(time.Second), m.maxAge)
	}
	var e mailgunEvent
	if err := json.Unmarshal(c.EventData, &e); err != nil {
		return nil, fmt.Errorf("%w: Mailgun event-data: %v", bounce.ErrMalformed, err)
	}
	n := bounce.Notification{Source: bounce.SourceMailgun, ID: firstOf(e.ID, s.Token), Authenticated: true}
	r := bounce.Report{Recipient: e.Recipient, MessageID: e.Message.Headers.MessageID, EventID: e.ID,
		Code: e.DeliveryStatus.Code, Status: e.DeliveryStatus.EnhancedCode,
		Diagnostic: firstOf(e.DeliveryStatus.Message, e.DeliveryStatus.Description, e.Reason)}
	if e.Timestamp > 0 {
		r.At = time.Unix(0, int64(e.Timestamp*1e9)).UTC()
	}
	switch e.Event {
	case "failed":
		if r.Status == "" {
			_, r.Status = replyCodes(r.Diagnostic)
		}
		action := "failed"
		if e.Severity == "temporary" {
			action = "delayed"
		}
		kind, ok := bounce.Classify(action, r.Status, r.Code)
		if r.Status == "" && r.Code == 0 {
			// Mailgun's own verdict when the server said nothing
			// (suppress-bounce: the address bounced before).
			kind, ok = bounce.KindSoft, true
			if e.Severity == "permanent" && (e.Reason == "bounce" || e.Reason == "suppress-bounce") {
				kind = bounce.KindHard
			}
		}
		if ok {
			r.Kind = kind
			n.Reports = append(n.Reports, r)
		}
	case "complained":
		r.Kind, r.Diagnostic = bounce.KindComplaint, "complaint"
		n.Reports = append(n.Reports, r)
	case "unsubscribed":
		r.Kind, r.Diagnostic = bounce.KindUnsubscribe, "unsubscribed through Mailgun"
		n.Reports = append(n.Reports, r)
	default:
		n.What = fmt.Sprintf("a Mailgun %q event", e.Event)
	}
	return []bounce.Notification{n}, nil
}
