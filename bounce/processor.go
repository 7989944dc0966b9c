package bounce

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/subscribers"
)

// SoftPolicy is when soft bounces make a subscriber bounced: Limit of them
// received within Window, about at least Issues different issues (so that
// one copy retried and reported several times is not enough), counted
// since the subscriber's last unbounce.
type SoftPolicy struct {
	Limit  int           // default 3
	Window time.Duration // default 30 days
	Issues int           // default 2
}

// Defaults of SoftPolicy.
const (
	DefaultSoftLimit  = 3
	DefaultSoftWindow = 30 * 24 * time.Hour
	DefaultSoftIssues = 2
)

func (p SoftPolicy) withDefaults() SoftPolicy {
	if p.Limit <= 0 {
		p.Limit = DefaultSoftLimit
	}
	if p.Window <= 0 {
		p.Window = DefaultSoftWindow
	}
	if p.Issues <= 0 {
		p.Issues = DefaultSoftIssues
	}
	p.Issues = min(p.Issues, p.Limit)
	return p
}

// Result is what became of a report (or of a notification without one).
type Result string

const (
	ResultRecorded   Result = "recorded"   // a new event, applied
	ResultDuplicate  Result = "duplicate"  // recorded before: nothing changed
	ResultUnverified Result = "unverified" // no token that verifies, on a channel anyone can write to
	ResultUnmatched  Result = "unmatched"  // about no delivery or subscriber here (erased, another database)
	ResultMismatch   Result = "mismatch"   // its tokens, or the Message-ID it quotes, name different copies
	ResultIgnored    Result = "ignored"    // no failure reported: an auto-reply, a delivery notice
	ResultRefused    Result = "refused"    // not read at all: too large, malformed, not authenticated
)

// Results are every Result, for metrics that export each from the start.
var Results = []Result{ResultRecorded, ResultDuplicate, ResultUnverified, ResultUnmatched, ResultMismatch, ResultIgnored, ResultRefused}

// Observer counts what the pipeline does (the daemon's metrics); kind is
// empty for a notification without a report.
type Observer interface {
	Observe(source Source, result Result, kind Kind)
}

// Config builds a Processor.
type Config struct {
	Store       Store
	Subscribers Subscribers
	// VERP verifies the tokens of mail notifications; nil: none verifies
	// (only authenticated webhooks can act).
	VERP     *VERP
	Soft     SoftPolicy
	Observer Observer         // optional
	Now      func() time.Time // default time.Now
	Log      *slog.Logger     // default: discard
}

// Processor is the one pipeline every way in feeds: identify the copy a
// notification is about, record the event once, act on the subscriber
// through the subscriber service. It is safe for concurrent use.
type Processor struct {
	cfg Config
}

// NewProcessor checks cfg.
func NewProcessor(cfg Config) (*Processor, error) {
	if cfg.Store == nil || cfg.Subscribers == nil {
		return nil, errors.New("bounce: Config.Store and Config.Subscribers are required")
	}
	cfg.Soft = cfg.Soft.withDefaults()
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Processor{cfg: cfg}, nil
}

// VERP is the processor's address scheme (nil when bounce.address is
// not set).
func (p *Processor) VERP() *VERP { return p.cfg.VERP }

// Outcome is what Handle did with one report.
type Outcome struct {
	Result Result
	Kind   Kind
	Event  Event  // the event recorded (or found, for a duplicate)
	Reason string // why it was not recorded
}

// clockSlack is how far a provider's event time may lag our record of
// the send it is about.
const clockSlack = 10 * time.Minute

// maxDeliveries bounds how many of a subscriber's deliveries a token is
// looked for in: about four years of weekly issues, newest first.
const maxDeliveries = 200

// Handle runs a notification through the pipeline. Reports that cannot be
// tied to a copy or subscriber are ignored with a log line and counted,
// never acted on. An error wraps ErrTemporary (the store or the subscriber
// service failed): the caller must make the sender try again; reports
// recorded before the failure are not recorded twice then.
func (p *Processor) Handle(ctx context.Context, n Notification) ([]Outcome, error) {
	now := p.cfg.Now().UTC()
	bounceT, unsubT, bad, mismatch := p.targets(n)
	reports := n.Reports
	if unsubT != nil && !mismatch {
		// Mail to an unsubscribe address asks for that, whatever it says
		// (RFC 2369: its subject or body may be anything).
		reports = []Report{{Kind: KindUnsubscribe}}
	}
	if len(reports) == 0 {
		what := n.What
		if what == "" {
			what = "no delivery failure, complaint or unsubscribe request found"
		}
		return []Outcome{p.skip(n, Report{}, ResultIgnored, what)}, nil
	}
	if mismatch {
		out := make([]Outcome, 0, len(reports))
		for _, r := range reports {
			out = append(out, p.skip(n, r, ResultMismatch, "its tokens name different copies"))
		}
		return out, nil
	}
	var out []Outcome
	for _, r := range reports {
		t := bounceT
		if r.Kind == KindUnsubscribe {
			t = unsubT
		}
		o, err := p.handle(ctx, n, r, t, bad, now)
		if err != nil {
			return out, err
		}
		out = append(out, o)
	}
	return out, nil
}

// targets verifies the notification's VERP addresses: the copy a bounce
// token and an unsubscribe token name, how many tokens did not verify,
// and whether verified tokens disagree.
func (p *Processor) targets(n Notification) (bounceT, unsubT *Target, bad int, mismatch bool) {
	if p.cfg.VERP == nil {
		return nil, nil, 0, false
	}
	for _, a := range n.Addresses {
		t, err := p.cfg.VERP.Parse(a)
		switch {
		case errors.Is(err, ErrBadToken):
			bad++
			continue
		case err != nil:
			continue
		}
		slot := &bounceT
		if t.Unsubscribe {
			slot = &unsubT
		}
		if *slot == nil {
			*slot = &t
		} else if (*slot).SubscriberID != t.SubscriberID || (*slot).Tag != t.Tag {
			mismatch = true
		}
	}
	if bounceT != nil && unsubT != nil && (bounceT.SubscriberID != unsubT.SubscriberID || bounceT.Tag != unsubT.Tag) {
		mismatch = true
	}
	return bounceT, unsubT, bad, mismatch
}

// handle identifies, records and applies one report.
func (p *Processor) handle(ctx context.Context, n Notification, r Report, t *Target, bad int, now time.Time) (Outcome, error) {
	var d Delivery
	switch {
	case t != nil:
		found, ok, err := p.deliveryByTag(ctx, t.SubscriberID, t.Tag)
		if err != nil {
			return Outcome{}, err
		}
		if !ok {
			return p.skip(n, r, ResultUnmatched, "its token verifies but names no delivery here (the subscriber was erased, or the copy came from another database)"), nil
		}
		d = found
		if r.MessageID != "" && d.MessageID != "" && !sameMessageID(r.MessageID, d.MessageID) {
			return p.skip(n, r, ResultMismatch, "it quotes another copy's Message-ID than its token names"), nil
		}
	case n.Authenticated && r.Recipient != "":
		found, ok, err := p.deliveryByAddress(ctx, r)
		if err != nil {
			return Outcome{}, err
		}
		if !ok {
			return p.skip(n, r, ResultUnmatched, "no subscriber has the address it names"), nil
		}
		d = found
	case bad > 0:
		return p.skip(n, r, ResultUnverified, "its token does not verify"), nil
	default:
		return p.skip(n, r, ResultUnverified, "it carries no token (it was not sent to a VERP address nor quotes one)"), nil
	}
	e := Event{
		Source: n.Source, Kind: r.Kind, IssueID: d.IssueID, SubscriberID: d.SubscriberID,
		Status: r.Status, Code: r.Code, Diagnostic: maskDiagnostic(r.Diagnostic),
		OccurredAt: r.At.UTC(), ReceivedAt: now,
	}
	if e.OccurredAt.IsZero() || e.OccurredAt.After(now) {
		e.OccurredAt = now
	}
	e.Key = eventKey(n, r, d)
	stored, created, err := p.cfg.Store.RecordEvent(ctx, e)
	if err != nil {
		return Outcome{}, fmt.Errorf("%w: record event: %v", ErrTemporary, err)
	}
	if !created && !stored.AppliedAt.IsZero() {
		p.observe(n.Source, ResultDuplicate, r.Kind)
		p.cfg.Log.Info("bounce: notification seen before, nothing changed", "source", n.Source, "kind", r.Kind,
			"issue", stored.IssueID, "subscriber", stored.SubscriberID, "event", stored.ID)
		return Outcome{Result: ResultDuplicate, Kind: r.Kind, Event: stored}, nil
	}
	action, err := p.apply(ctx, stored, d, now)
	if err != nil {
		return Outcome{}, fmt.Errorf("%w: %s event %d: %v", ErrTemporary, r.Kind, stored.ID, err)
	}
	if err := p.cfg.Store.FinishEvent(ctx, stored.ID, action, now); err != nil {
		return Outcome{}, fmt.Errorf("%w: finish event %d: %v", ErrTemporary, stored.ID, err)
	}
	stored.Action, stored.AppliedAt = action, now
	p.observe(n.Source, ResultRecorded, r.Kind)
	level := slog.LevelInfo
	if r.Kind == KindComplaint {
		level = slog.LevelWarn
	}
	p.cfg.Log.Log(ctx, level, "bounce: event recorded", "source", n.Source, "kind", r.Kind, "status", r.Status,
		"issue", stored.IssueID, "subscriber", stored.SubscriberID, "action", action, "event", stored.ID)
	p.cfg.Log.Debug("bounce: event diagnostic", "event", stored.ID, "diagnostic", stored.Diagnostic)
	return Outcome{Result: ResultRecorded, Kind: r.Kind, Event: stored}, nil
}

// apply does what the event says to its subscriber and describes it.
func (p *Processor) apply(ctx context.Context, e Event, d Delivery, now time.Time) (string, error) {
	subs := p.cfg.Subscribers
	switch e.Kind {
	case KindHard:
		changed, err := subs.Bounce(ctx, e.SubscriberID, now)
		if err != nil || !changed {
			return "none: the subscriber was not active", err
		}
		return "bounced", nil
	case KindSoft:
		pol := p.cfg.Soft
		c, err := p.cfg.Store.SoftBounces(ctx, e.SubscriberID, now.Add(-pol.Window))
		if err != nil {
			return "", err
		}
		if c.Events < pol.Limit || c.Issues < pol.Issues {
			return fmt.Sprintf("soft bounce %d of %d (%d of %d issues) within %s", c.Events, pol.Limit, c.Issues, pol.Issues, window(pol.Window)), nil
		}
		changed, err := subs.Bounce(ctx, e.SubscriberID, now)
		if err != nil || !changed {
			return fmt.Sprintf("soft bounce %d of %d; none: the subscriber was not active", c.Events, pol.Limit), err
		}
		return fmt.Sprintf("bounced: %d soft bounces over %d issues within %s", c.Events, c.Issues, window(pol.Window)), nil
	case KindComplaint:
		if _, err := subs.Complain(ctx, e.SubscriberID, now); err != nil {
			return "", err
		}
		return "unsubscribed from every list and suppressed", nil
	case KindUnsubscribe:
		list := d.Series
		if list == "" {
			list = subscribers.AllLists
		}
		changed, err := subs.UnsubscribeList(ctx, e.SubscriberID, list, now)
		if err != nil {
			return "", err
		}
		if !changed {
			return "none: not subscribed to " + list, nil
		}
		return "unsubscribed from " + list, nil
	default:
		return "none: a policy refusal is about the sender, not the reader", nil
	}
}

func window(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

// deliveryByTag finds the subscriber's delivery whose issue has tag.
func (p *Processor) deliveryByTag(ctx context.Context, subscriberID int64, tag [4]byte) (Delivery, bool, error) {
	ds, err := p.cfg.Store.SubscriberDeliveries(ctx, subscriberID, maxDeliveries)
	if err != nil {
		return Delivery{}, false, fmt.Errorf("%w: deliveries of subscriber %d: %v", ErrTemporary, subscriberID, err)
	}
	for _, d := range ds {
		if IssueTag(d.IssueID) == tag {
			return d, true, nil
		}
	}
	return Delivery{}, false, nil
}

// deliveryByAddress finds the copy an authenticated report names by its
// recipient: the delivery with the Message-ID it quotes, else the latest
// one sent before it happened (give or take clockSlack), else none (the event is then about the
// subscriber alone).
func (p *Processor) deliveryByAddress(ctx context.Context, r Report) (Delivery, bool, error) {
	email, err := subscribers.Normalize(r.Recipient)
	if err != nil {
		return Delivery{}, false, nil
	}
	id, err := p.cfg.Subscribers.SubscriberID(ctx, email)
	if errors.Is(err, subscribers.ErrNotFound) {
		return Delivery{}, false, nil
	}
	if err != nil {
		return Delivery{}, false, fmt.Errorf("%w: find subscriber: %v", ErrTemporary, err)
	}
	ds, err := p.cfg.Store.SubscriberDeliveries(ctx, id, maxDeliveries)
	if err != nil {
		return Delivery{}, false, fmt.Errorf("%w: deliveries of subscriber %d: %v", ErrTemporary, id, err)
	}
	if r.MessageID != "" {
		for _, d := range ds {
			if d.MessageID != "" && sameMessageID(d.MessageID, r.MessageID) {
				return d, true, nil
			}
		}
	}
	for _, d := range ds {
		// Providers' clocks and second-rounded timestamps differ from
		// ours by a little.
		if d.State == "sent" && (r.At.IsZero() || !d.SentAt.After(r.At.Add(clockSlack))) {
			return d, true, nil
		}
	}
	return Delivery{SubscriberID: id}, true, nil
}

// skip counts and logs a report that changes nothing.
func (p *Processor) skip(n Notification, r Report, res Result, why string) Outcome {
	p.observe(n.Source, res, r.Kind)
	p.cfg.Log.Info("bounce: notification ignored", "source", n.Source, "result", res, "kind", r.Kind, "status", r.Status, "reason", why)
	return Outcome{Result: res, Kind: r.Kind, Reason: why}
}

func (p *Processor) observe(s Source, res Result, k Kind) {
	if p.cfg.Observer != nil {
		p.cfg.Observer.Observe(s, res, k)
	}
}

// eventKey makes recording idempotent. A copy bounces hard, is complained
// about and is unsubscribed once whatever the number of notifications
// saying so (a DSN by mail and the provider's webhook, a retried webhook);
// each distinct soft bounce or refusal counts, a notification seen again
// does not.
func eventKey(n Notification, r Report, d Delivery) string {
	parts := []string{string(r.Kind), d.IssueID, fmt.Sprint(d.SubscriberID)}
	switch {
	case (r.Kind == KindHard || r.Kind == KindComplaint) && d.IssueID != "":
	default:
		parts = append(parts, string(n.Source), n.ID, r.EventID)
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// sameMessageID compares Message-IDs as RFC 5322 msg-ids: angle brackets
// and surrounding space aside, the domain part case-insensitively.
func sameMessageID(a, b string) bool {
	norm := func(s string) string {
		s = strings.Trim(strings.TrimSpace(s), "<>")
		if at := strings.LastIndexByte(s, '@'); at >= 0 {
			s = s[:at] + strings.ToLower(s[at:])
		}
		return s
	}
	return norm(a) == norm(b)
}

// MaxDiagnostic bounds the diagnostic text kept with an event.
const MaxDiagnostic = 500

// maskDiagnostic is the server's text as kept: one line, addresses
// masked, at most MaxDiagnostic bytes.
func maskDiagnostic(s string) string {
	s = mail.MaskAddresses(strings.Join(strings.Fields(s), " "))
	if len(s) > MaxDiagnostic {
		cut := MaxDiagnostic
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strings.ToValidUTF8(s, "�")
}
