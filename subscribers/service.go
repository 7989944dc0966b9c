package subscribers

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/syndicated/syndicated/mail"
)

// Defaults for Config.
const (
	DefaultConfirmTTL      = 72 * time.Hour
	DefaultAddressInterval = 10 * time.Minute
	DefaultIPBurst         = 5
	DefaultIPEvery         = 2 * time.Minute // one more request per IP every 2 minutes after the burst
)

// ErrRateLimited is returned by Subscribe when the client (IP) has made too
// many requests. The per-address limit never returns it: the caller gets the
// same nil as for any accepted request, so nothing is revealed.
var ErrRateLimited = errors.New("too many requests from this client")

// ErrUnknownList is wrapped when a request names a list that is not
// configured.
var ErrUnknownList = errors.New("unknown list")

// List is a mailing list subscribers can pick: a series slug and its title.
type List struct {
	Slug  string
	Title string
	// Description says what the series is (the preference page shows it).
	Description string
	// Cadences the series offers and its default (see Offer); none:
	// weekly only.
	Cadences       []Cadence
	DefaultCadence Cadence
}

// Config builds a Service.
type Config struct {
	Store   Store
	Mailer  mail.Transport
	Secret  []byte // config secret; HMAC keys are derived from it (at least 16 bytes)
	BaseURL string // public base URL, e.g. https://news.example.com (links in emails)
	// Confirmation renders the confirmation email (mail/hermes).
	Confirmation ConfirmationRenderer
	Lists        []List // lists offered; the first is the default when a request names none
	// ConfirmTTL is how long a confirmation link works (default 72 h).
	ConfirmTTL time.Duration
	// AddressInterval is the least time between two confirmation emails to
	// one address (default 10 min).
	AddressInterval time.Duration
	// IPEvery and IPBurst make the per-client-IP token bucket of Subscribe
	// (defaults: burst 5, then one every 2 minutes). IPEvery < 0 disables it.
	IPEvery time.Duration
	IPBurst int
	Now     func() time.Time // default time.Now
	Logger  *slog.Logger     // default: discard
	// SyncMail makes Subscribe record the request and send the
	// confirmation before it returns. By default both happen after it
	// returns: it answers once the request is checked and within the
	// client's limit, in the same time whatever the address's state (new,
	// pending, active, removed), so that no timing tells them apart. Wait
	// blocks until that work is done; call Close on shutdown to let it
	// finish.
	SyncMail bool
	// MailTimeout bounds a background confirmation send (default 2 min).
	MailTimeout time.Duration
	// Readers' preferences (cadences, pauses, the preference page, the
	// welcome email): see ReaderConfig.
	Readers ReaderConfig
}

// Service is double opt-in, unsubscribe and the operators' list tools. It is
// safe for concurrent use; its per-IP limiter lives in the instance.
type Service struct {
	store    Store
	mailer   mail.Transport
	signer   *Signer
	base     *url.URL
	render   ConfirmationRenderer
	lists    []List
	ttl      time.Duration
	interval time.Duration
	ipEvery  time.Duration
	ipBurst  int
	now      func() time.Time
	log      *slog.Logger
	syncMail bool
	mailTO   time.Duration
	sends    sync.WaitGroup
	// busy bounds the sign-ups being recorded after their answer: when it
	// is full, Subscribe waits for a slot (load, not an address's state,
	// is what that wait shows).
	busy chan struct{}

	mu       sync.Mutex
	limiters map[string]*ipLimiter
	swept    time.Time

	keyMu  sync.Mutex
	supKey []byte // the suppression key, once loaded from the store

	readers readers
}

type ipLimiter struct {
	l    *rate.Limiter
	seen time.Time
}

// New checks cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("subscribers: Config.Store is nil")
	}
	if cfg.Mailer == nil {
		return nil, errors.New("subscribers: Config.Mailer is nil")
	}
	if cfg.Confirmation == nil {
		return nil, errors.New("subscribers: Config.Confirmation is nil")
	}
	signer, err := NewSigner(cfg.Secret)
	if err != nil {
		return nil, err
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("subscribers: base URL %q must be an absolute http(s) URL", cfg.BaseURL)
	}
	if len(cfg.Lists) == 0 {
		return nil, errors.New("subscribers: no lists configured")
	}
	for _, l := range cfg.Lists {
		if l.Slug == "" || l.Slug == AllLists || strings.ContainsAny(l.Slug, ",;| \t\r\n") {
			return nil, fmt.Errorf("subscribers: bad list slug %q", l.Slug)
		}
	}
	s := &Service{
		store: cfg.Store, mailer: cfg.Mailer, signer: signer, base: base, render: cfg.Confirmation,
		lists: slices.Clone(cfg.Lists), ttl: cfg.ConfirmTTL, interval: cfg.AddressInterval,
		ipEvery: cfg.IPEvery, ipBurst: cfg.IPBurst, now: cfg.Now, log: cfg.Logger,
		limiters: map[string]*ipLimiter{}, syncMail: cfg.SyncMail, mailTO: cfg.MailTimeout,
		busy: make(chan struct{}, maxBackgroundSignups),
	}
	if s.mailTO <= 0 {
		s.mailTO = 2 * time.Minute
	}
	if s.ttl <= 0 {
		s.ttl = DefaultConfirmTTL
	}
	if s.interval <= 0 {
		s.interval = DefaultAddressInterval
	}
	if s.ipEvery == 0 {
		s.ipEvery = DefaultIPEvery
	}
	if s.ipBurst <= 0 {
		s.ipBurst = DefaultIPBurst
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.setupReaders(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// Lists returns the configured lists.
func (s *Service) Lists() []List { return slices.Clone(s.lists) }

// Signer gives the token signer (the web handlers use it for form tokens).
func (s *Service) Signer() *Signer { return s.signer }

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// SuppressionKeyName is the store setting holding the suppression key.
const SuppressionKeyName = "suppression-key"

// suppressionKey returns the key of suppression hashes. It is kept in the
// store apart from the configured secret, so that changing the secret
// never empties the suppression list; it is created, on first use, equal
// to the key derived from the secret of the time, so hashes recorded
// before it existed keep matching.
func (s *Service) suppressionKey(ctx context.Context) ([]byte, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.supKey != nil {
		return s.supKey, nil
	}
	v, err := s.store.Secret(ctx, SuppressionKeyName, func() (string, error) {
		return hex.EncodeToString(s.signer.InitialSuppressionKey()), nil
	})
	if err != nil {
		return nil, fmt.Errorf("suppression key: %w", err)
	}
	k, err := hex.DecodeString(v)
	if err != nil || len(k) < MinKeyLen {
		return nil, fmt.Errorf("suppression key: the %q setting is not %d or more bytes in hex", SuppressionKeyName, MinKeyLen)
	}
	s.supKey = k
	return k, nil
}

// SuppressionHash is the keyed hash of a normalised address, as the
// suppression list keeps it.
func (s *Service) SuppressionHash(ctx context.Context, email string) (string, error) {
	k, err := s.suppressionKey(ctx)
	if err != nil {
		return "", err
	}
	return SuppressionHash(k, email), nil
}

// isSuppressed reports whether email is on the suppression list.
func (s *Service) isSuppressed(ctx context.Context, email string) (bool, error) {
	h, err := s.SuppressionHash(ctx, email)
	if err != nil {
		return false, err
	}
	return s.store.IsSuppressed(ctx, h)
}

// URL makes an absolute URL under the base URL.
func (s *Service) URL(path string, q url.Values) string {
	u := *s.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = q.Encode()
	return u.String()
}

// UnsubscribeURL is the one-click unsubscribe link for sub and list (a slug
// or AllLists), for List-Unsubscribe and the digest footer.
//
// The token is base64url, which a query takes as it is, except that each
// "--" is written "-%2D", the same token once the query is decoded: where
// the link is shown as text, markdown's typography turns "--" into a dash
// (the digest's plain-text part), and such a link would make about one
// reader in a hundred cost the digest a full render (digest.spliceableURL).
func (s *Service) UnsubscribeURL(sub *Subscriber, list string) (string, error) {
	tok, err := s.signer.UnsubscribeToken(UnsubscribeClaims{ID: sub.ID, Created: sub.CreatedAt, List: list})
	if err != nil {
		return "", err
	}
	u := *s.base
	u.Path = strings.TrimRight(u.Path, "/") + "/unsubscribe"
	u.RawQuery = "token=" + strings.ReplaceAll(tok, "--", "-%2D")
	return u.String(), nil
}

func (s *Service) listTitle(slug string) string {
	for _, l := range s.lists {
		if l.Slug == slug {
			return l.Title
		}
	}
	return slug
}

// cleanLists validates requested lists, removes duplicates, and gives the
// default list for none.
func (s *Service) cleanLists(in []string) ([]string, error) {
	var out []string
	for _, l := range in {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if !slices.ContainsFunc(s.lists, func(x List) bool { return x.Slug == l }) {
			return nil, fmt.Errorf("%w %q", ErrUnknownList, l)
		}
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		out = []string{s.lists[0].Slug}
	}
	return out, nil
}

// allowIP takes a token from the client's bucket. Clients are keyed by
// address, IPv6 by /64.
func (s *Service) allowIP(ip string, now time.Time) bool {
	if s.ipEvery < 0 || ip == "" {
		return true
	}
	key := ip
	if a, err := netip.ParseAddr(ip); err == nil {
		a = a.Unmap()
		if a.Is6() {
			p, _ := a.Prefix(64)
			key = p.String()
		} else {
			key = a.String()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Forget clients whose bucket is full again.
	full := s.ipEvery * time.Duration(s.ipBurst)
	if now.Sub(s.swept) > full {
		for k, l := range s.limiters {
			if now.Sub(l.seen) > full {
				delete(s.limiters, k)
			}
		}
		s.swept = now
	}
	l := s.limiters[key]
	if l == nil {
		l = &ipLimiter{l: rate.NewLimiter(rate.Every(s.ipEvery), s.ipBurst)}
		s.limiters[key] = l
	}
	l.seen = now
	return l.l.AllowN(now, 1)
}

// Request is a sign-up.
type Request struct {
	Email     string
	Name      string
	Lists     []string // slugs; none means the default list
	IP        string   // client IP, for the consent record and the rate limit
	UserAgent string
	Source    string // "web", "api"…

	// Cadences the reader asks for, by list slug (lists not named get the
	// list's default). They apply once the sign-up is confirmed.
	Cadences map[string]Cadence
}

// Subscribe handles a sign-up with double opt-in. Its result is the same
// (nil) whether the address is new, pending, active, suppressed or over its
// per-address limit, so a caller cannot learn whether an address is on the
// list. Errors are only: a malformed request (ErrInvalidEmail,
// ErrInvalidName, ErrUnknownList), ErrRateLimited for the client IP, and
// store failures. The confirmation email goes through the outbox: one that
// cannot be sent now is retried with a growing delay (see Run), and why it
// failed is logged at warning level.
//
// What happens behind that: the request (lists, name, consent record) is
// kept with its confirmation email, and nothing about an existing
// subscriber changes until its link is followed: not the name, not the
// consent record, not the status, not the lists. A new address becomes a
// pending subscriber holding the request's name and consent. A pending,
// unsubscribed or bounced address gets a confirmation for the lists asked
// for (at most one per AddressInterval); an active one on every requested
// list gets nothing (an active one asking for a further list gets a
// confirmation for it). The address is found whatever its letter case; a
// new one is kept as typed.
func (s *Service) Subscribe(ctx context.Context, r Request) error {
	email, err := Normalize(r.Email)
	if err != nil {
		return err
	}
	name, err := ValidateName(r.Name)
	if err != nil {
		return err
	}
	lists, err := s.cleanLists(r.Lists)
	if err != nil {
		return err
	}
	cadences, err := s.cleanCadences(lists, r.Cadences)
	if err != nil {
		return err
	}
	ua := r.UserAgent
	if len(ua) > 512 {
		ua = ua[:512]
	}
	now := s.now().UTC()
	if !s.allowIP(r.IP, now) {
		return ErrRateLimited
	}
	source := r.Source
	if source == "" {
		source = "web"
	}
	// The cadences wait with the lists in the request (listChoice) and
	// apply only when it is confirmed.
	req := Confirmation{Lists: choices(lists, cadences), Name: name, Consent: Consent{At: now, IP: r.IP, UserAgent: ua, Source: source}, IssuedAt: now}
	if !s.syncMail {
		// Nothing above looked at the store: the answer is the same, in
		// the same time, whatever the address's state.
		return s.inBackground(ctx, func(ctx context.Context) {
			if sent, err := s.request(ctx, email, req, true); err != nil {
				s.log.Error("subscribe: a sign-up could not be recorded", "err", err)
			} else if sent {
				if _, err := s.sendDue(ctx); err != nil {
					s.log.Warn("subscribe: confirmation outbox", "err", err)
				}
			}
		})
	}
	sent, err := s.request(ctx, email, req, true)
	if err != nil || !sent {
		return err
	}
	// Failures stay in the outbox for a retry; the answer is the same.
	if _, err := s.sendDue(ctx); ctx.Err() != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	return nil
}

// maxBackgroundSignups bounds the sign-ups recorded after their answer at
// once.
const maxBackgroundSignups = 64

// inBackground runs work after the caller returns, within a slot of busy
// (waiting for one, or for ctx), with a context that outlives the
// request's and ends after the mail timeout.
func (s *Service) inBackground(ctx context.Context, work func(ctx context.Context)) error {
	select {
	case s.busy <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("subscribe: %w", ctx.Err())
	}
	s.sends.Add(1)
	go func() {
		defer func() { <-s.busy; s.sends.Done() }()
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.mailTO)
		defer cancel()
		work(bctx)
	}()
	return nil
}

// request records a sign-up request for email and queues its confirmation
// email; queued is false when there was nothing to confirm (suppressed,
// already active on every list, or, with limit, within the per-address
// interval). req gives the lists (with the cadences asked for them, see
// listChoice), name, consent and issue time.
func (s *Service) request(ctx context.Context, email string, req Confirmation, limit bool) (queued bool, err error) {
	if sup, err := s.isSuppressed(ctx, email); err != nil {
		return false, fmt.Errorf("subscribe: %w", err)
	} else if sup {
		s.log.Info("subscribe: suppressed address ignored")
		return false, nil
	}
	now := req.IssuedAt
	var send []string // lists to confirm; nil: send nothing
	var seq int64
	sub, err := s.store.UpdateSubscriber(ctx, email, func(sub *Subscriber) error {
		send = nil
		var want []string // choices (listChoice): a list and the cadence asked for it
		for _, l := range req.Lists {
			if slug, _ := splitChoice(l); sub.Status != StatusActive || !hasActive(sub, slug) {
				want = append(want, l)
			}
		}
		if len(want) == 0 {
			return nil // already subscribed: nothing new
		}
		if limit && !sub.ConfirmationSentAt.IsZero() && now.Sub(sub.ConfirmationSentAt) < s.interval {
			return nil // per-address limit: silently nothing
		}
		if sub.ID == 0 {
			// A new address: the request is all there is to know of it.
			sub.CreatedAt, sub.Status, sub.Name, sub.Consent = now, StatusPending, req.Name, req.Consent
			for _, l := range want {
				slug, _ := splitChoice(l)
				setList(sub, slug, false, now, false)
			}
		}
		// Bookkeeping only (the per-address limit, the order of events):
		// nothing a reader or the consent record shows.
		sub.ConfirmationSentAt = now
		sub.EventSeq++
		seq, send = sub.EventSeq, want
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("subscribe: %w", err)
	}
	if send == nil {
		return false, nil
	}
	req.SubscriberID, req.Lists, req.Seq, req.NextAttemptAt = sub.ID, send, seq, now
	if _, err := s.store.EnqueueConfirmation(ctx, req); err != nil {
		return false, fmt.Errorf("subscribe: %w", err)
	}
	return true, nil
}

// Wait blocks until the sign-ups recorded and confirmations sent after
// their answer (see Config.SyncMail) so far are done.
func (s *Service) Wait() { s.sends.Wait() }

// Close waits for background confirmation sends, or for ctx to end.
func (s *Service) Close(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.sends.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("subscribers: confirmation emails still sending: %w", ctx.Err())
	}
}

// DefaultOutboxInterval is how often Run looks for confirmations to retry.
const DefaultOutboxInterval = 30 * time.Second

// Run sends due confirmation emails every interval (DefaultOutboxInterval
// when 0) until ctx ends: the retries of those that failed. The daemon runs
// it; on several replicas each does, and their claims never overlap.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultOutboxInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.sendDue(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("subscribe: confirmation outbox", "err", err)
			}
			if _, err := s.sendWelcomes(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("subscribe: welcome outbox", "err", err)
			}
		}
	}
}

// SendDue sends the confirmation emails that are due now (new ones, and
// failed ones whose retry time has come); failures are recorded in the
// outbox and logged, not returned. It returns how many were sent.
func (s *Service) SendDue(ctx context.Context) (int, error) {
	round, err := s.sendDue(ctx)
	return round.sent, err
}

// outboxRound is what one pass over the due confirmations did.
type outboxRound struct {
	sent   int
	failed map[int64]error // by subscriber id
}

// confirmRetry is the wait before the next attempt after n failed ones.
func confirmRetry(n int) time.Duration {
	steps := []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour}
	if n-1 < len(steps) {
		return steps[max(n-1, 0)]
	}
	return 2 * time.Hour
}

func (s *Service) sendDue(ctx context.Context) (outboxRound, error) {
	round := outboxRound{failed: map[int64]error{}}
	for {
		batch, err := s.store.ClaimConfirmations(ctx, 20, s.now().UTC(), s.mailTO+time.Minute)
		if err != nil {
			return round, fmt.Errorf("subscribe: %w", err)
		}
		if len(batch) == 0 {
			return round, nil
		}
		for _, c := range batch {
			if err := s.deliver(ctx, c); err != nil {
				round.failed[c.SubscriberID] = err
			} else {
				round.sent++
			}
			if ctx.Err() != nil {
				return round, ctx.Err()
			}
		}
	}
}

// deliver sends one claimed confirmation and records the outcome: sent; a
// retry later, logged at warning level with the reason; or, for a refusal
// that retrying cannot fix or a link that expired meanwhile, failed.
func (s *Service) deliver(ctx context.Context, c Confirmation) error {
	finish := func(state ConfirmationState, reason string, next time.Time) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := s.store.FinishConfirmation(fctx, c.ID, state, reason, next, s.now().UTC()); err != nil {
			s.log.Error("subscribe: could not record a confirmation email's outcome", "subscriber", c.SubscriberID, "err", err)
		}
	}
	expires := c.IssuedAt.Add(s.ttl)
	sub, err := s.store.GetSubscriberByID(ctx, c.SubscriberID)
	switch {
	case errors.Is(err, ErrNotFound):
		finish(ConfirmationFailed, "subscriber removed", time.Time{})
		return nil
	case err != nil:
		finish(ConfirmationPending, err.Error(), s.now().Add(time.Minute))
		return err
	case c.Seq > 0 && c.Seq < sub.UnsubscribedSeq:
		finish(ConfirmationFailed, "unsubscribed after this request: nothing to confirm", time.Time{})
		return nil
	case !s.now().Before(expires):
		s.log.Warn("subscribe: confirmation email given up: its link expired before it could be sent", "subscriber", sub.ID, "attempts", c.Attempts, "last_error", c.LastError)
		finish(ConfirmationFailed, "link expired before it could be sent; last error: "+c.LastError, time.Time{})
		return errors.New("confirmation link expired before it could be sent")
	}
	err = s.sendConfirmation(ctx, sub, c)
	if err == nil {
		finish(ConfirmationSent, "", time.Time{})
		return nil
	}
	reason := mailReason(err)
	next := s.now().Add(confirmRetry(c.Attempts)).UTC()
	if mail.IsPermanent(err) || !next.Before(expires) {
		s.log.Warn("subscribe: confirmation email not sent, given up", "subscriber", sub.ID, "attempt", c.Attempts, "reason", reason)
		finish(ConfirmationFailed, reason, time.Time{})
		return err
	}
	s.log.Warn("subscribe: confirmation email not sent, will retry", "subscriber", sub.ID, "attempt", c.Attempts,
		"retry_at", next.Format(time.RFC3339), "reason", reason)
	finish(ConfirmationPending, reason, next)
	return err
}

// mailReason says why a send failed, for a warning: the mail error and,
// for a failure to connect (dial, TLS, authentication: about the server,
// never a recipient), its detail too.
func mailReason(err error) string {
	var me *mail.Error
	if errors.As(err, &me) && me.Op == "connect" && me.Detail() != "" {
		return me.Error() + ": " + me.Detail()
	}
	return err.Error()
}

func hasActive(sub *Subscriber, list string) bool {
	for _, l := range sub.Lists {
		if l.List == list {
			return l.Active
		}
	}
	return false
}

// setList sets list's state; when keepActive, an already active list stays
// active.
func setList(sub *Subscriber, list string, active bool, now time.Time, keepActive bool) {
	for i := range sub.Lists {
		if sub.Lists[i].List == list {
			if sub.Lists[i].Active != active && !(keepActive && sub.Lists[i].Active) {
				sub.Lists[i].Active = active
				sub.Lists[i].ChangedAt = now
			}
			return
		}
	}
	sub.Lists = append(sub.Lists, Subscription{List: list, Active: active, ChangedAt: now})
}

// sendConfirmation mails sub the link that confirms request c.
func (s *Service) sendConfirmation(ctx context.Context, sub *Subscriber, c Confirmation) error {
	lists, issued := c.Lists, c.IssuedAt
	tok, err := s.signer.ConfirmToken(ConfirmClaims{ID: sub.ID, Created: sub.CreatedAt, RequestID: c.ID, Lists: lists, IssuedAt: issued, Expires: issued.Add(s.ttl)})
	if err != nil {
		return err
	}
	link := s.URL("/confirm", url.Values{"token": {tok}})
	titles := make([]string, len(lists))
	for i, l := range lists {
		titles[i] = s.choiceTitle(l)
	}
	// No visitor-supplied text goes into a message sent before consent: the
	// name field would let anyone mail their words to any address.
	msg, err := s.render.RenderConfirmation(ConfirmationData{Lists: titles, Link: link, TTL: s.ttl})
	if err != nil {
		return err
	}
	msg.To = sub.Email
	msg.Date = s.now()
	return s.mailer.Send(ctx, msg)
}

// ConfirmResult says what Confirm did, or what a confirmation link would
// do (CheckConfirm).
type ConfirmResult struct {
	Lists []List // the lists now active by this confirmation
	Email string // the subscriber's address, for the page to show masked
}

// tokenSubscriber finds the address a token names: an opaque token's
// subscriber by id, provided it is the one the token was made for (same
// creation second; ids can be reused after a removal). ok is false when
// that subscriber is gone. A token of the old format names its address.
func (s *Service) tokenSubscriber(ctx context.Context, id int64, created time.Time, email string) (string, bool, error) {
	if email != "" {
		return email, true, nil
	}
	sub, err := s.store.GetSubscriberByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if sub.CreatedAt.Unix() != created.Unix() {
		return "", false, nil
	}
	return sub.Email, true, nil
}

// checkConfirm verifies a confirmation token and finds its subscriber's
// address and the lists that still exist (with the cadences asked for
// them, see listChoice).
func (s *Service) checkConfirm(ctx context.Context, token string, now time.Time) (ConfirmClaims, []string, error) {
	c, err := s.signer.VerifyConfirm(token, now)
	if err != nil {
		return c, nil, err
	}
	var lists []string
	for _, l := range c.Lists {
		if slug, _ := splitChoice(l); slices.ContainsFunc(s.lists, func(x List) bool { return x.Slug == slug }) {
			lists = append(lists, l)
		}
	}
	if len(lists) == 0 {
		return c, nil, fmt.Errorf("%w: its lists no longer exist", ErrInvalidToken)
	}
	email, ok, err := s.tokenSubscriber(ctx, c.ID, c.Created, c.Email)
	if err != nil {
		return c, nil, fmt.Errorf("confirm: %w", err)
	}
	if !ok {
		return c, nil, fmt.Errorf("%w: no such subscriber", ErrInvalidToken)
	}
	c.Email = email
	return c, lists, nil
}

func (s *Service) listsOf(slugs []string) []List {
	out := make([]List, len(slugs))
	for i, l := range slugs {
		slug, _ := splitChoice(l)
		out[i] = List{Slug: slug, Title: s.choiceTitle(l)}
	}
	return out
}

// CheckConfirm verifies a confirmation link without changing anything:
// the page a GET shows (a link scanner fetching it confirms nothing).
func (s *Service) CheckConfirm(ctx context.Context, token string) (ConfirmResult, error) {
	c, lists, err := s.checkConfirm(ctx, token, s.now().UTC())
	if err != nil {
		return ConfirmResult{}, err
	}
	return ConfirmResult{Lists: s.listsOf(lists), Email: c.Email}, nil
}

// Confirm activates the subscription a confirmation token names, and
// gives the subscriber the name and consent record of the request it
// confirms. A token for a request made before the address unsubscribed
// (in the order of its events, not of seconds: the two may share one) or
// before it was removed is refused; confirming twice is harmless, and
// confirming an older request after a newer one takes its lists but keeps
// the newer name and consent.
func (s *Service) Confirm(ctx context.Context, token string) (ConfirmResult, error) {
	now := s.now().UTC()
	c, lists, err := s.checkConfirm(ctx, token, now)
	if err != nil {
		return ConfirmResult{}, err
	}
	var (
		slugs    []string
		cadences = map[string]Cadence{}
		welcome  bool
	)
	for _, l := range lists {
		slug, c := splitChoice(l)
		slugs = append(slugs, slug)
		if c != "" {
			cadences[slug] = c
		}
	}
	var req *Confirmation
	if c.RequestID != 0 {
		r, err := s.store.GetConfirmation(ctx, c.RequestID)
		switch {
		case errors.Is(err, ErrNotFound):
			return ConfirmResult{}, fmt.Errorf("%w: no such request", ErrInvalidToken)
		case err != nil:
			return ConfirmResult{}, fmt.Errorf("confirm: %w", err)
		case r.SubscriberID != c.ID:
			return ConfirmResult{}, fmt.Errorf("%w: wrong subscriber", ErrInvalidToken)
		}
		req = &r
	}
	sub, err := s.store.UpdateSubscriber(ctx, c.Email, func(sub *Subscriber) error {
		if sub.ID == 0 || (c.ID != 0 && sub.ID != c.ID) {
			return fmt.Errorf("%w: no such subscriber", ErrInvalidToken)
		}
		if req != nil && req.Seq < sub.UnsubscribedSeq {
			return fmt.Errorf("%w: unsubscribed after this link was sent", ErrInvalidToken)
		}
		// A token of before requests were numbered knows only its second:
		// an unsubscribe in that very second wins.
		if req == nil && !sub.UnsubscribedAt.IsZero() && !sub.UnsubscribedAt.Truncate(time.Second).Before(c.IssuedAt) {
			return fmt.Errorf("%w: unsubscribed after this link was sent", ErrInvalidToken)
		}
		welcome = false
		for _, l := range slugs {
			welcome = welcome || !hasActive(sub, l)
			setList(sub, l, true, now, true)
		}
		if sub.Status != StatusActive {
			sub.Status = StatusActive
			sub.ConfirmedAt = now
		}
		if req != nil && req.Seq > sub.ConfirmedSeq {
			if req.Name != "" {
				sub.Name = req.Name
			}
			sub.Consent = req.Consent
			sub.ConfirmedSeq = req.Seq
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrInvalidToken) {
			return ConfirmResult{}, err
		}
		return ConfirmResult{}, fmt.Errorf("confirm: %w", err)
	}
	if err := s.setCadences(ctx, sub.ID, cadences, now); err != nil {
		return ConfirmResult{}, fmt.Errorf("confirm: %w", err)
	}
	if welcome { // not when the same link is followed again
		s.queueWelcome(ctx, sub, slugs)
	}
	return ConfirmResult{Lists: s.listsOf(lists), Email: c.Email}, nil
}

// UnsubscribeResult says what Unsubscribe did.
type UnsubscribeResult struct {
	All   bool
	List  List   // when not All
	Email string // the subscriber's address, for the page to show masked; empty when removed
}

// CheckUnsubscribe verifies an unsubscribe token without changing
// anything (for the confirm page).
func (s *Service) CheckUnsubscribe(ctx context.Context, token string) (UnsubscribeResult, error) {
	c, err := s.signer.VerifyUnsubscribe(token)
	if err != nil {
		return UnsubscribeResult{}, err
	}
	email, _, err := s.tokenSubscriber(ctx, c.ID, c.Created, c.Email)
	if err != nil {
		return UnsubscribeResult{}, fmt.Errorf("unsubscribe: %w", err)
	}
	if c.List == AllLists {
		return UnsubscribeResult{All: true, Email: email}, nil
	}
	return UnsubscribeResult{List: List{Slug: c.List, Title: s.listTitle(c.List)}, Email: email}, nil
}

// Unsubscribe takes the subscriber a token names off its list, or off every
// list when all is true or the token says AllLists. It is idempotent; a
// token whose subscriber has been removed succeeds without doing anything
// (there is nobody left to mail); a token whose id and address do not match
// the stored subscriber is refused.
func (s *Service) Unsubscribe(ctx context.Context, token string, all bool) (UnsubscribeResult, error) {
	c, err := s.signer.VerifyUnsubscribe(token)
	if err != nil {
		return UnsubscribeResult{}, err
	}
	if c.List == AllLists {
		all = true
	}
	email, ok, err := s.tokenSubscriber(ctx, c.ID, c.Created, c.Email)
	if err != nil {
		return UnsubscribeResult{}, fmt.Errorf("unsubscribe: %w", err)
	}
	if !ok {
		// Removed: there is nobody left to mail.
		if all {
			return UnsubscribeResult{All: true}, nil
		}
		return UnsubscribeResult{List: List{Slug: c.List, Title: s.listTitle(c.List)}}, nil
	}
	now := s.now().UTC()
	_, err = s.store.UpdateSubscriber(ctx, email, func(sub *Subscriber) error {
		if sub.ID == 0 {
			return nil // removed: nothing written
		}
		if sub.ID != c.ID {
			return fmt.Errorf("%w: wrong subscriber", ErrInvalidToken)
		}
		list := c.List
		if all {
			list = AllLists
		}
		sub.leave(list, now)
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrInvalidToken) {
			return UnsubscribeResult{}, err
		}
		return UnsubscribeResult{}, fmt.Errorf("unsubscribe: %w", err)
	}
	if all {
		return UnsubscribeResult{All: true, Email: email}, nil
	}
	return UnsubscribeResult{List: List{Slug: c.List, Title: s.listTitle(c.List)}, Email: email}, nil
}

// leave takes sub off list (AllLists: every list) at now, unsubscribed
// once no list is left, and voids every request made before it, even one
// issued in the same second (EventSeq). It reports whether a list or the
// status changed.
func (sub *Subscriber) leave(list string, now time.Time) bool {
	changed := false
	for i := range sub.Lists {
		if sub.Lists[i].Active && (list == AllLists || sub.Lists[i].List == list) {
			sub.Lists[i].Active = false
			sub.Lists[i].ChangedAt = now
			changed = true
		}
	}
	anyActive := slices.ContainsFunc(sub.Lists, func(l Subscription) bool { return l.Active })
	if !anyActive && (sub.Status == StatusActive || sub.Status == StatusPending) {
		sub.Status = StatusUnsubscribed
		changed = true
	}
	if changed && sub.Status == StatusUnsubscribed {
		sub.UnsubscribedAt = now
	}
	sub.EventSeq++
	sub.UnsubscribedSeq = sub.EventSeq
	return changed
}
