package webhook

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/syndicated/syndicated/bounce"
)

// SendGrid's signed event webhook: X-Twilio-Email-Event-Webhook-Signature
// is the base64 ASN.1 ECDSA (P-256) signature of the SHA-256 of the
// X-Twilio-Email-Event-Webhook-Timestamp header followed by the body,
// under the key whose public half SendGrid shows as the "verification
// key" (base64 DER). The body is an array of events.
type SendGrid struct {
	key    *ecdsa.PublicKey
	maxAge time.Duration
	now    func() time.Time
}

// Headers of SendGrid's signed event webhook.
const (
	SendGridSignatureHeader = "X-Twilio-Email-Event-Webhook-Signature"
	SendGridTimestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp"
)

// NewSendGrid checks calls with publicKey (bounce.sendgrid.public_key:
// the verification key, base64 of its DER form, PEM accepted too).
func NewSendGrid(publicKey string, maxAge time.Duration, now func() time.Time) (*SendGrid, error) {
	k := strings.TrimSpace(publicKey)
	k = strings.TrimPrefix(k, "-----BEGIN PUBLIC KEY-----")
	k = strings.TrimSuffix(k, "-----END PUBLIC KEY-----")
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(k), ""))
	if err != nil {
		return nil, errors.New("bounce.sendgrid.public_key: not base64 (paste SendGrid's verification key)")
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("bounce.sendgrid.public_key: %v", err)
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("bounce.sendgrid.public_key: not an ECDSA key")
	}
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if now == nil {
		now = time.Now
	}
	return &SendGrid{key: ec, maxAge: maxAge, now: now}, nil
}

// Source implements Provider.
func (s *SendGrid) Source() bounce.Source { return bounce.SourceSendGrid }

type sendgridEvent struct {
	Email     string `json:"email"`
	Timestamp int64  `json:"timestamp"`
	Event     string `json:"event"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	Reason    string `json:"reason"`
	Response  string `json:"response"`
	SMTPID    string `json:"smtp-id"`
	EventID   string `json:"sg_event_id"`
	MessageID string `json:"sg_message_id"`
}

// Notifications implements Provider.
func (s *SendGrid) Notifications(_ context.Context, r *http.Request, body []byte) ([]bounce.Notification, error) {
	sig, err := base64.StdEncoding.DecodeString(r.Header.Get(SendGridSignatureHeader))
	ts := r.Header.Get(SendGridTimestampHeader)
	if err != nil || len(sig) == 0 || ts == "" {
		return nil, fmt.Errorf("%w: SendGrid call without a signature", bounce.ErrUnauthenticated)
	}
	sum := sha256.Sum256(append([]byte(ts), body...))
	if !ecdsa.VerifyASN1(s.key, sum[:], sig) {
		return nil, fmt.Errorf("%w: SendGrid signature does not verify", bounce.ErrUnauthenticated)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: SendGrid timestamp %q", bounce.ErrUnauthenticated, ts)
	}
	if age := s.now().Sub(time.Unix(sec, 0)); math.Abs(float64(age)) > float64(s.maxAge) {
		return nil, fmt.Errorf("%w: SendGrid call signed %s ago, more than %s", bounce.ErrUnauthenticated, age.Round(time.Second), s.maxAge)
	}
	var events []sendgridEvent
	if err := json.Unmarshal(body, &events); err != nil {
		return nil, fmt.Errorf("%w: SendGrid events: %v", bounce.ErrMalformed, err)
	}
	var out []bounce.Notification
	for _, e := range events {
		n := bounce.Notification{Source: bounce.SourceSendGrid, ID: firstOf(e.EventID, e.MessageID+"/"+e.Event+"/"+strconv.FormatInt(e.Timestamp, 10)), Authenticated: true}
		r := bounce.Report{Recipient: e.Email, MessageID: strings.Trim(e.SMTPID, "<>"), EventID: e.EventID,
			Diagnostic: firstOf(e.Reason, e.Response)}
		if e.Timestamp > 0 {
			r.At = time.Unix(e.Timestamp, 0).UTC()
		}
		code, status := replyCodes(r.Diagnostic)
		r.Code, r.Status = code, firstOf(e.Status, status)
		switch e.Event {
		case "bounce", "deferred":
			action := "failed"
			if e.Event == "deferred" {
				action = "delayed"
			}
			kind, ok := bounce.Classify(action, r.Status, r.Code)
			if r.Status == "" && r.Code == 0 {
				kind, ok = bounce.KindSoft, true
			}
			if !ok {
				continue
			}
			r.Kind = kind
		case "spamreport":
			r.Kind, r.Diagnostic = bounce.KindComplaint, "spam report"
		case "unsubscribe", "group_unsubscribe":
			r.Kind, r.Diagnostic = bounce.KindUnsubscribe, "unsubscribed through SendGrid"
		default:
			continue // processed, delivered, open, click, dropped…: nothing to do
		}
		n.Reports = []bounce.Report{r}
		out = append(out, n)
	}
	return out, nil
}
