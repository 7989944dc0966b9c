package webhook

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/syndicated/syndicated/bounce"
)

// Amazon SES publishes bounce and complaint notifications to an SNS topic
// that POSTs them here. Every SNS message is signed (RSA, SHA1 for
// SignatureVersion 1, SHA256 for 2) with a certificate SNS serves from
// https://sns.REGION.amazonaws.com/SimpleNotificationService-….pem: the
// signature is verified against that certificate, fetched only from
// Amazon's certificate host. As anyone can have SNS sign messages of a
// topic of their own, only the configured topics are accepted. A
// SubscriptionConfirmation (when the topic is subscribed to this URL) is
// confirmed by fetching its SubscribeURL, on Amazon's SNS host too.

var (
	snsCertURL = regexp.MustCompile(`^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/SimpleNotificationService-[A-Za-z0-9]+\.pem$`)
	snsHost    = regexp.MustCompile(`^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)
)

// Fetch GETs an https URL (a signing certificate, a subscription
// confirmation) and returns its body. SES takes one so that tests serve
// their own certificate; the URL checks happen before, whatever Fetch is.
type Fetch func(ctx context.Context, url string) ([]byte, error)

// HTTPFetch is the production Fetch: an https GET with a timeout, at
// most 64 KiB read.
func HTTPFetch(client *http.Client) Fetch {
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	return func(ctx context.Context, u string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
		}
		return io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	}
}

// SES is the Amazon SES (through SNS) adapter.
type SES struct {
	topics []string
	fetch  Fetch
	now    func() time.Time

	mu    sync.Mutex
	certs map[string]*x509.Certificate
}

// NewSES accepts messages of the SNS topics named (their ARNs), checking
// signatures with certificates fetch gets (HTTPFetch(nil) in production).
func NewSES(topicARNs []string, fetch Fetch, now func() time.Time) (*SES, error) {
	if len(topicARNs) == 0 {
		return nil, errors.New("bounce.ses.topic_arns: name the SNS topics SES publishes to (anyone can have SNS sign a topic of their own)")
	}
	for _, a := range topicARNs {
		if !strings.HasPrefix(a, "arn:aws") || strings.Count(a, ":") != 5 {
			return nil, fmt.Errorf("bounce.ses.topic_arns: %q is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)", a)
		}
	}
	if fetch == nil {
		fetch = HTTPFetch(nil)
	}
	if now == nil {
		now = time.Now
	}
	return &SES{topics: slices.Clone(topicARNs), fetch: fetch, now: now, certs: map[string]*x509.Certificate{}}, nil
}

// Source implements Provider.
func (s *SES) Source() bounce.Source { return bounce.SourceSES }

// snsMessage is an SNS HTTP(S) delivery.
type snsMessage struct {
	Type             string
	MessageId        string
	Token            string
	TopicArn         string
	Subject          string
	Message          string
	Timestamp        string
	SignatureVersion string
	Signature        string
	SigningCertURL   string
	SubscribeURL     string
}

// Notifications implements Provider.
func (s *SES) Notifications(ctx context.Context, _ *http.Request, body []byte) ([]bounce.Notification, error) {
	var m snsMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("%w: SNS message: %v", bounce.ErrMalformed, err)
	}
	if err := s.verify(ctx, &m); err != nil {
		return nil, err
	}
	switch m.Type {
	case "SubscriptionConfirmation":
		return nil, s.confirm(ctx, &m)
	case "UnsubscribeConfirmation":
		return nil, nil
	case "Notification":
		return sesNotifications(&m)
	default:
		return nil, fmt.Errorf("%w: SNS message type %q", bounce.ErrMalformed, m.Type)
	}
}

// verify checks the topic and the signature.
func (s *SES) verify(ctx context.Context, m *snsMessage) error {
	if !slices.Contains(s.topics, m.TopicArn) {
		return fmt.Errorf("%w: SNS topic %q is not one of bounce.ses.topic_arns", bounce.ErrUnauthenticated, m.TopicArn)
	}
	if !snsCertURL.MatchString(m.SigningCertURL) {
		return fmt.Errorf("%w: signing certificate URL %q is not Amazon SNS's", bounce.ErrUnauthenticated, m.SigningCertURL)
	}
	cert, err := s.cert(ctx, m.SigningCertURL)
	if err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return fmt.Errorf("%w: signature is not base64", bounce.ErrUnauthenticated)
	}
	var alg x509.SignatureAlgorithm
	switch m.SignatureVersion {
	case "1":
		alg = x509.SHA1WithRSA
	case "2":
		alg = x509.SHA256WithRSA
	default:
		return fmt.Errorf("%w: SignatureVersion %q", bounce.ErrUnauthenticated, m.SignatureVersion)
	}
	if err := cert.CheckSignature(alg, snsStringToSign(m), sig); err != nil {
		return fmt.Errorf("%w: SNS signature: %v", bounce.ErrUnauthenticated, err)
	}
	return nil
}

// cert returns the certificate at u (checked to be Amazon's), cached.
func (s *SES) cert(ctx context.Context, u string) (*x509.Certificate, error) {
	s.mu.Lock()
	c := s.certs[u]
	s.mu.Unlock()
	if c == nil {
		b, err := s.fetch(ctx, u)
		if err != nil {
			return nil, fmt.Errorf("%w: signing certificate: %v", bounce.ErrTemporary, err)
		}
		block, _ := pem.Decode(b)
		if block == nil {
			return nil, fmt.Errorf("%w: signing certificate is not PEM", bounce.ErrUnauthenticated)
		}
		if c, err = x509.ParseCertificate(block.Bytes); err != nil {
			return nil, fmt.Errorf("%w: signing certificate: %v", bounce.ErrUnauthenticated, err)
		}
		s.mu.Lock()
		if len(s.certs) > 32 {
			clear(s.certs)
		}
		s.certs[u] = c
		s.mu.Unlock()
	}
	if now := s.now(); now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return nil, fmt.Errorf("%w: signing certificate not valid now (%s to %s)", bounce.ErrUnauthenticated, c.NotBefore, c.NotAfter)
	}
	return c, nil
}

// snsStringToSign is what SNS signs: the named fields, each name and
// value on a line of its own, in this order, absent ones left out.
func snsStringToSign(m *snsMessage) []byte {
	var b bytes.Buffer
	add := func(k, v string, always bool) {
		if v != "" || always {
			b.WriteString(k + "\n" + v + "\n")
		}
	}
	add("Message", m.Message, true)
	add("MessageId", m.MessageId, true)
	if m.Type == "Notification" {
		add("Subject", m.Subject, false)
		add("Timestamp", m.Timestamp, true)
		add("TopicArn", m.TopicArn, true)
		add("Type", m.Type, true)
		return b.Bytes()
	}
	add("SubscribeURL", m.SubscribeURL, true)
	add("Timestamp", m.Timestamp, true)
	add("Token", m.Token, true)
	add("TopicArn", m.TopicArn, true)
	add("Type", m.Type, true)
	return b.Bytes()
}

// confirm fetches the SubscribeURL of a verified SubscriptionConfirmation,
// provided it is on Amazon's SNS host.
func (s *SES) confirm(ctx context.Context, m *snsMessage) error {
	u, err := url.Parse(m.SubscribeURL)
	if err != nil || u.Scheme != "https" || !snsHost.MatchString(u.Host) {
		return fmt.Errorf("%w: SubscribeURL %q is not on Amazon SNS's host", bounce.ErrUnauthenticated, m.SubscribeURL)
	}
	if _, err := s.fetch(ctx, m.SubscribeURL); err != nil {
		return fmt.Errorf("%w: confirming the SNS subscription: %v", bounce.ErrTemporary, err)
	}
	return nil
}

// sesEvent is an SES notification (notificationType) or event
// publishing record (eventType).
type sesEvent struct {
	NotificationType string `json:"notificationType"`
	EventType        string `json:"eventType"`
	Bounce           *struct {
		BounceType        string `json:"bounceType"`
		BounceSubType     string `json:"bounceSubType"`
		FeedbackID        string `json:"feedbackId"`
		Timestamp         string `json:"timestamp"`
		BouncedRecipients []struct {
			EmailAddress   string `json:"emailAddress"`
			Action         string `json:"action"`
			Status         string `json:"status"`
			DiagnosticCode string `json:"diagnosticCode"`
		} `json:"bouncedRecipients"`
	} `json:"bounce"`
	Complaint *struct {
		FeedbackID            string `json:"feedbackId"`
		Timestamp             string `json:"timestamp"`
		ComplaintFeedbackType string `json:"complaintFeedbackType"`
		ComplainedRecipients  []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"complainedRecipients"`
	} `json:"complaint"`
	Mail struct {
		MessageID     string `json:"messageId"`
		Headers       []struct{ Name, Value string }
		CommonHeaders struct {
			MessageID string `json:"messageId"`
		} `json:"commonHeaders"`
	} `json:"mail"`
}

// sesNotifications reads the SES record an SNS Notification carries.
func sesNotifications(m *snsMessage) ([]bounce.Notification, error) {
	var e sesEvent
	if err := json.Unmarshal([]byte(m.Message), &e); err != nil {
		return nil, fmt.Errorf("%w: SES notification: %v", bounce.ErrMalformed, err)
	}
	n := bounce.Notification{Source: bounce.SourceSES, ID: m.MessageId, Authenticated: true}
	msgID := e.Mail.CommonHeaders.MessageID
	for _, h := range e.Mail.Headers {
		if msgID == "" && strings.EqualFold(h.Name, "Message-ID") {
			msgID = h.Value
		}
	}
	typ := e.NotificationType
	if typ == "" {
		typ = e.EventType
	}
	switch {
	case typ == "Bounce" && e.Bounce != nil:
		at := parseTime(e.Bounce.Timestamp)
		for _, r := range e.Bounce.BouncedRecipients {
			code, status := replyCodes(r.DiagnosticCode)
			if r.Status != "" {
				status = r.Status
			}
			kind, ok := bounce.Classify("failed", status, code)
			if status == "" && code == 0 {
				// No code: SES's own verdict.
				kind, ok = bounce.KindSoft, true
				if e.Bounce.BounceType == "Permanent" {
					kind = bounce.KindHard
				}
			}
			if !ok {
				continue
			}
			n.Reports = append(n.Reports, bounce.Report{Kind: kind, Status: status, Code: code,
				Diagnostic: firstOf(r.DiagnosticCode, e.Bounce.BounceType+"/"+e.Bounce.BounceSubType),
				Recipient:  r.EmailAddress, MessageID: msgID, At: at, EventID: e.Bounce.FeedbackID + "/" + r.EmailAddress})
		}
	case typ == "Complaint" && e.Complaint != nil:
		if e.Complaint.ComplaintFeedbackType == "not-spam" {
			n.What = "a not-spam report"
			break
		}
		for _, r := range e.Complaint.ComplainedRecipients {
			n.Reports = append(n.Reports, bounce.Report{Kind: bounce.KindComplaint,
				Diagnostic: "complaint " + firstOf(e.Complaint.ComplaintFeedbackType, "(no feedback type)"),
				Recipient:  r.EmailAddress, MessageID: msgID, At: parseTime(e.Complaint.Timestamp), EventID: e.Complaint.FeedbackID})
		}
	default:
		n.What = fmt.Sprintf("an SES %q notification", typ)
	}
	return []bounce.Notification{n}, nil
}

var (
	replyCodeRE = regexp.MustCompile(`\b([245]\d\d)[ -]+(?:#?([245]\.\d{1,3}\.\d{1,3})\b)?`)
	enhancedRE  = regexp.MustCompile(`(?:^|[^\d.])([245]\.\d{1,3}\.\d{1,3})(?:[^\d.]|$)`)
)

// replyCodes finds the reply and enhanced codes a provider's diagnostic
// quotes ("smtp; 550 5.1.1 user unknown", or "5.1.1 user unknown").
func replyCodes(diag string) (int, string) {
	m := replyCodeRE.FindStringSubmatch(diag)
	if m == nil {
		if e := enhancedRE.FindStringSubmatch(diag); e != nil {
			return 0, e[1]
		}
		return 0, ""
	}
	if m[2] == "" {
		if e := enhancedRE.FindStringSubmatch(diag); e != nil {
			m[2] = e[1]
		}
	}
	code := 0
	for _, c := range m[1] {
		code = code*10 + int(c-'0')
	}
	return code, m[2]
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func firstOf(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" && v != "/" {
			return v
		}
	}
	return ""
}
