package subscribers

import (
	"context"
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
	// SyncMail makes Subscribe send the confirmation before it returns. By
	// default it sends in the background, so that a new address and a known
	// one answer in the same time (no timing side channel); call Close on
	// shutdown to let those sends finish.
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

	mu       sync.Mutex
	limiters map[string]*ipLimiter
	swept    time.Time

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

// SuppressionHash is the keyed hash of a normalised address.
func (s *Service) SuppressionHash(email string) string { return s.signer.SuppressionHash(email) }

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
// What happens behind that: a new address becomes pending and gets a
// confirmation email; a pending one gets another (at most one per
// AddressInterval); an active one on every requested list gets nothing (an
// active one asking for a further list gets a confirmation for it); an
// unsubscribed or bounced one becomes pending again and gets a confirmation.
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
	if sup, err := s.store.IsSuppressed(ctx, s.signer.SuppressionHash(email)); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	} else if sup {
		s.log.Info("subscribe: suppressed address ignored")
		return nil
	}
	source := r.Source
	if source == "" {
		source = "web"
	}
	var send []string // lists to confirm; nil: send nothing
	sub, err := s.store.UpdateSubscriber(ctx, email, func(sub *Subscriber) error {
		send = nil
		var want []string
		switch sub.Status {
		case StatusActive:
			for _, l := range lists {
				if !hasActive(sub, l) {
					want = append(want, l)
				}
			}
			if len(want) == 0 {
				return nil // already subscribed: nothing new
			}
		case "", StatusPending, StatusUnsubscribed, StatusBounced:
			want = lists
		default:
			return nil
		}
		if !sub.ConfirmationSentAt.IsZero() && now.Sub(sub.ConfirmationSentAt) < s.interval {
			return nil // per-address limit: silently nothing
		}
		if sub.Status != StatusActive {
			if sub.ID == 0 {
				sub.CreatedAt = now
			}
			sub.Status = StatusPending
			for _, l := range want {
				setList(sub, l, false, now, false)
			}
		}
		if name != "" {
			sub.Name = name
		}
		sub.Consent = Consent{At: now, IP: r.IP, UserAgent: ua, Source: source}
		sub.ConfirmationSentAt = now
		send = want
		return nil
	})
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	if send == nil {
		return nil
	}
	if _, err := s.store.EnqueueConfirmation(ctx, Confirmation{SubscriberID: sub.ID, Lists: choices(send, cadences), IssuedAt: now, NextAttemptAt: now}); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	if s.syncMail {
		// Failures stay in the outbox for a retry; the answer is the same.
		if _, err := s.sendDue(ctx); ctx.Err() != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
		return nil
	}
	s.sendInBackground(ctx)
	return nil
}

// sendInBackground sends the due confirmations without making the caller
// wait (a new address and a known one answer in the same time).
func (s *Service) sendInBackground(ctx context.Context) {
	s.sends.Add(1)
	go func() {
		defer s.sends.Done()
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.mailTO)
		defer cancel()
		if _, err := s.sendDue(bctx); err != nil {
			s.log.Warn("subscribe: confirmation outbox", "err", err)
		}
	}()
}

// Wait blocks until the background confirmation sends started so far are
// done.
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
	case sub.Status != StatusPending && sub.Status != StatusActive:
		finish(ConfirmationFailed, "subscriber is "+string(sub.Status)+": nothing to confirm", time.Time{})
		return nil
	case !s.now().Before(expires):
		s.log.Warn("subscribe: confirmation email given up: its link expired before it could be sent", "subscriber", sub.ID, "attempts", c.Attempts, "last_error", c.LastError)
		finish(ConfirmationFailed, "link expired before it could be sent; last error: "+c.LastError, time.Time{})
		return errors.New("confirmation link expired before it could be sent")
	}
	err = s.sendConfirmation(ctx, sub, c.Lists, c.IssuedAt)
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

// sendConfirmation mails sub the link for lists, issued at issued.
func (s *Service) sendConfirmation(ctx context.Context, sub *Subscriber, lists []string, issued time.Time) error {
	tok, err := s.signer.ConfirmToken(ConfirmClaims{ID: sub.ID, Created: sub.CreatedAt, Lists: lists, IssuedAt: issued, Expires: issued.Add(s.ttl)})
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

// Confirm activates the subscription a confirmation token names. A token
// for an address that has since unsubscribed (after the token was issued)
// or been removed is refused; confirming twice is harmless.
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
	sub, err := s.store.UpdateSubscriber(ctx, c.Email, func(sub *Subscriber) error {
		if sub.ID == 0 || (c.ID != 0 && sub.ID != c.ID) {
			return fmt.Errorf("%w: no such subscriber", ErrInvalidToken)
		}
		if sub.UnsubscribedAt.Truncate(time.Second).After(c.IssuedAt) {
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
		changed := false
		for i := range sub.Lists {
			if sub.Lists[i].Active && (all || sub.Lists[i].List == c.List) {
				sub.Lists[i].Active = false
				sub.Lists[i].ChangedAt = now
				changed = true
			}
		}
		anyActive := slices.ContainsFunc(sub.Lists, func(l Subscription) bool { return l.Active })
		if !anyActive && (sub.Status == StatusActive || sub.Status == StatusPending) {
			sub.Status = StatusUnsubscribed
			sub.UnsubscribedAt = now
			changed = true
		}
		if changed && sub.Status == StatusUnsubscribed {
			sub.UnsubscribedAt = now
		}
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
