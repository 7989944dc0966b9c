package websub

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Hub is the built-in WebSub hub (https://www.w3.org/TR/websub/): it takes
// subscription and unsubscription requests for the daemon's feeds at its
// URL, verifies the subscriber's intent, keeps subscriptions (with their
// lease and secret) in the Store shared by every replica, and pushes the
// full content of a feed to its subscribers whenever Publish is told it
// changed, signed with X-Hub-Signature (sha256) when the subscriber gave a
// secret, retried with backoff until it gives up. Callbacks that resolve
// to loopback, private, link-local or other non-public addresses are
// refused (when subscribing and again when connecting) unless an allowed
// network holds them.
//
// Wiring: mount the Hub at HubPath, call Publish with the URLs of the
// feeds a rebuild changed (as with a Publisher), and run Run on every
// replica: distributions are claimed, so each goes out from one of them.
type Hub struct {
	o       HubOptions
	client  *http.Client
	wake    chan struct{}
	verify  chan struct{} // semaphore of verifications in flight
	wg      sync.WaitGroup
	baseCtx context.Context
	stop    context.CancelFunc
}

// HubOptions configure a Hub. Store, URL, BaseURL and Content are required.
type HubOptions struct {
	Store Store
	// URL is the hub's own URL (BaseURL + HubPath), sent as rel="hub".
	URL string
	// BaseURL is the site's root: topics are feed URLs under it.
	BaseURL string
	// Content returns the current bytes and Content-Type of the feed at a
	// URL path, or an error (a topic that is not a feed must fail).
	Content func(ctx context.Context, path string) (body []byte, contentType string, err error)
	// Lease is granted when a subscriber asks for none; MaxLease caps what
	// it asks for (defaults: 10 and 30 days).
	Lease, MaxLease time.Duration
	// Allow lists the networks callbacks may be in although they are not
	// public (loopback, private, link-local…).
	Allow []netip.Prefix
	// Attempts is how many times a distribution is tried before the hub
	// gives up (default 8), waiting Backoff (default 10s) after the first
	// failure, doubling up to MaxBackoff (default 1h).
	Attempts            int
	Backoff, MaxBackoff time.Duration
	// Timeout bounds one verification or distribution request (10s).
	Timeout time.Duration
	// Poll is how often Run looks for due distributions besides being
	// woken by Publish (default 1s): retries, and work queued by another
	// replica.
	Poll time.Duration
	// Owner names this replica's claims; random when empty.
	Owner string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	Log *slog.Logger
	// Transport, when set, replaces the guarded transport (tests).
	Transport http.RoundTripper
	// Resolver looks callback hosts up (net.DefaultResolver when nil).
	Resolver interface {
		LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
	}
}

// Defaults of HubOptions.
const (
	DefaultLease    = 10 * 24 * time.Hour
	DefaultMaxLease = 30 * 24 * time.Hour
	maxSecret       = 199 // the secret MUST be less than 200 bytes (WebSub §5.1)
	maxVerifying    = 16
)

// NewHub checks opts and returns a Hub; call Run to distribute.
func NewHub(opts HubOptions) (*Hub, error) {
	if opts.Store == nil || opts.Content == nil {
		return nil, errors.New("websub: hub needs a store and a content source")
	}
	for _, u := range []string{opts.URL, opts.BaseURL} {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("websub: hub: %q is not an http(s) URL", u)
		}
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.MaxLease <= 0 {
		opts.MaxLease = DefaultMaxLease
	}
	opts.Lease = min(opts.Lease, opts.MaxLease)
	if opts.Attempts <= 0 {
		opts.Attempts = 8
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 10 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Hour
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if opts.Owner == "" {
		opts.Owner = "hub-" + randomHex(8)
	}
	h := &Hub{o: opts, wake: make(chan struct{}, 1), verify: make(chan struct{}, maxVerifying)}
	tr := opts.Transport
	if tr == nil {
		tr = h.guardedTransport()
	}
	h.client = &http.Client{Transport: tr, Timeout: opts.Timeout,
		// A callback may not send the hub elsewhere (such as inside the
		// network): redirects are not followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	h.baseCtx, h.stop = context.WithCancel(context.Background())
	return h, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ErrCallbackRefused is returned (wrapped) for a callback the hub will not
// call.
var ErrCallbackRefused = errors.New("callback refused")

// allowed reports whether the hub may connect to a.
func (h *Hub) allowed(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range h.o.Allow {
		if p.Contains(a) {
			return true
		}
	}
	return public(a)
}

// shared is 100.64.0.0/10 (RFC 6598, carrier-grade NAT); benchmarking
// 198.18.0.0/15 (RFC 2544).
var (
	shared    = netip.MustParsePrefix("100.64.0.0/10")
	benchmark = netip.MustParsePrefix("198.18.0.0/15")
	thisNet   = netip.MustParsePrefix("0.0.0.0/8")
)

// public reports whether a is a global unicast address outside the
// private, shared, loopback and link-local ranges.
func public(a netip.Addr) bool {
	return a.IsValid() && a.IsGlobalUnicast() && !a.IsPrivate() && !a.IsLoopback() && !a.IsLinkLocalUnicast() &&
		!shared.Contains(a) && !benchmark.Contains(a) && !thisNet.Contains(a)
}

// checkCallback parses a callback URL and checks that every address its
// host resolves to may be called.
func (h *Hub) checkCallback(ctx context.Context, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("%w: %q is not an http(s) URL without credentials or fragment", ErrCallbackRefused, raw)
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		lctx, cancel := context.WithTimeout(ctx, h.o.Timeout)
		defer cancel()
		if addrs, err = h.o.Resolver.LookupNetIP(lctx, "ip", host); err != nil {
			return nil, fmt.Errorf("%w: %s does not resolve: %v", ErrCallbackRefused, host, err)
		}
	}
	for _, a := range addrs {
		if !h.allowed(a) {
			return nil, fmt.Errorf("%w: %s is %s, not a public address", ErrCallbackRefused, host, a)
		}
	}
	return u, nil
}

// guardedTransport connects only to allowed addresses, whatever a name
// resolves to when the connection is made (no DNS rebinding around the
// check made when subscribing).
func (h *Hub) guardedTransport() http.RoundTripper {
	d := &net.Dialer{Timeout: h.o.Timeout, Control: func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s", ErrCallbackRefused, address)
		}
		if !h.allowed(ap.Addr()) {
			return fmt.Errorf("%w: %s is not a public address", ErrCallbackRefused, ap.Addr())
		}
		return nil
	}}
	return &http.Transport{DialContext: d.DialContext, Proxy: nil, MaxIdleConnsPerHost: 2,
		IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: h.o.Timeout, ResponseHeaderTimeout: h.o.Timeout}
}

// topicPath returns the URL path of a topic of this site.
func (h *Hub) topicPath(topic string) (string, bool) {
	rest, ok := strings.CutPrefix(topic, h.o.BaseURL)
	if !ok || !strings.HasPrefix(rest, "/") {
		return "", false
	}
	u, err := url.Parse(rest)
	if err != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	return u.Path, true
}

// ServeHTTP takes subscription and unsubscription requests (WebSub §5.1):
// a form POST with hub.mode, hub.topic, hub.callback and, to subscribe,
// hub.lease_seconds and hub.secret. A valid request is answered 202 and
// the intent verified in the background (§5.3); the subscription counts
// once the subscriber echoed the challenge. Errors are answered 400 with
// the reason, a topic that is not one of the site's feeds 404.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "WebSub hub: POST hub.mode=subscribe or unsubscribe, hub.topic and hub.callback", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "WebSub hub: the request is not a form: "+err.Error(), http.StatusBadRequest)
		return
	}
	f := r.PostForm
	mode, topic, callback := f.Get("hub.mode"), f.Get("hub.topic"), f.Get("hub.callback")
	if mode != "subscribe" && mode != "unsubscribe" {
		http.Error(w, fmt.Sprintf("WebSub hub: hub.mode %q is not subscribe or unsubscribe (publishing is the daemon's own)", mode), http.StatusBadRequest)
		return
	}
	path, ok := h.topicPath(topic)
	if !ok {
		http.Error(w, fmt.Sprintf("WebSub hub: hub.topic %q is not a feed of %s", topic, h.o.BaseURL), http.StatusBadRequest)
		return
	}
	if _, _, err := h.o.Content(r.Context(), path); err != nil {
		http.Error(w, fmt.Sprintf("WebSub hub: hub.topic %q is not a feed here", topic), http.StatusNotFound)
		return
	}
	cb, err := h.checkCallback(r.Context(), callback)
	if err != nil {
		http.Error(w, "WebSub hub: hub.callback: "+err.Error(), http.StatusBadRequest)
		return
	}
	secret := f.Get("hub.secret")
	if len(secret) > maxSecret {
		http.Error(w, "WebSub hub: hub.secret must be less than 200 bytes", http.StatusBadRequest)
		return
	}
	lease := h.o.Lease
	if v := f.Get("hub.lease_seconds"); v != "" && mode == "subscribe" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			http.Error(w, fmt.Sprintf("WebSub hub: hub.lease_seconds %q is not a positive number", v), http.StatusBadRequest)
			return
		}
		lease = min(time.Duration(min(n, int64(h.o.MaxLease/time.Second)))*time.Second, h.o.MaxLease)
	}
	select {
	case h.verify <- struct{}{}:
	default:
		w.Header().Set("Retry-After", "10")
		http.Error(w, "WebSub hub: too many verifications in flight, try again shortly", http.StatusServiceUnavailable)
		return
	}
	h.wg.Add(1)
	go func() {
		defer func() { <-h.verify; h.wg.Done() }()
		h.verifyIntent(h.baseCtx, mode, topic, cb, secret, lease)
	}()
	w.WriteHeader(http.StatusAccepted)
}

// verifyIntent asks the callback to echo a challenge (WebSub §5.3) and,
// when it does, stores or deletes the subscription.
func (h *Hub) verifyIntent(ctx context.Context, mode, topic string, cb *url.URL, secret string, lease time.Duration) {
	challenge := randomHex(16)
	u := *cb
	q := u.Query()
	q.Set("hub.mode", mode)
	q.Set("hub.topic", topic)
	q.Set("hub.challenge", challenge)
	if mode == "subscribe" {
		q.Set("hub.lease_seconds", strconv.FormatInt(int64(lease/time.Second), 10))
	}
	u.RawQuery = q.Encode()
	log := h.o.Log.With("mode", mode, "topic", topic, "callback_host", cb.Host)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		log.Warn("websub hub: verification", "err", err)
		return
	}
	req.Header.Set("User-Agent", "syndicated-websub-hub")
	resp, err := h.client.Do(req)
	if err != nil {
		log.Info("websub hub: verification failed", "err", err)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 || strings.TrimSpace(string(body)) != challenge {
		log.Info("websub hub: the subscriber did not confirm", "status", resp.StatusCode)
		return
	}
	now := h.o.Now()
	if mode == "unsubscribe" {
		err = h.o.Store.DeleteSubscription(ctx, topic, cb.String())
	} else {
		_, err = h.o.Store.PutSubscription(ctx, Subscription{Topic: topic, Callback: cb.String(), Secret: secret,
			Lease: lease, Expires: now.Add(lease), Created: now})
	}
	if err != nil {
		log.Warn("websub hub: store", "err", err)
		return
	}
	log.Info("websub hub: "+mode+"d", "lease", lease)
}

// Publish tells the hub that the feeds at these URLs changed: the
// current content of each topic that has subscribers is queued for them
// (Run sends it). Topics without subscribers cost one small query. It
// returns the joined errors of the topics it could not queue.
func (h *Hub) Publish(ctx context.Context, topics ...string) error {
	var errs []error
	queued := 0
	now := h.o.Now()
	for _, topic := range topics {
		path, ok := h.topicPath(topic)
		if !ok {
			errs = append(errs, fmt.Errorf("websub hub: %s is not a feed of %s", topic, h.o.BaseURL))
			continue
		}
		n, err := h.o.Store.LiveSubscriptions(ctx, topic, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if n == 0 {
			continue
		}
		body, ct, err := h.o.Content(ctx, path)
		if err != nil {
			errs = append(errs, fmt.Errorf("websub hub: content of %s: %w", topic, err))
			continue
		}
		sum := sha256.Sum256(body)
		q, err := h.o.Store.QueueDistribution(ctx, topic, ct, body, hex.EncodeToString(sum[:]), now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		queued += q
	}
	if queued > 0 {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
	return errors.Join(errs...)
}

// Run distributes queued content until ctx ends, then waits for the
// verifications in flight. Every replica runs it.
func (h *Hub) Run(ctx context.Context) error {
	defer func() {
		h.stop()
		h.wg.Wait()
	}()
	t := time.NewTicker(h.o.Poll)
	defer t.Stop()
	lastExpiry := time.Time{}
	for {
		for h.distribute(ctx) > 0 && ctx.Err() == nil {
		}
		if now := h.o.Now(); now.Sub(lastExpiry) >= time.Minute {
			lastExpiry = now
			if n, err := h.o.Store.ExpireSubscriptions(ctx, now); err != nil && ctx.Err() == nil {
				h.o.Log.Warn("websub hub: expire subscriptions", "err", err)
			} else if n > 0 {
				h.o.Log.Info("websub hub: subscriptions expired", "count", n)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-h.wake:
		}
	}
}

// distribute claims a batch of due distributions, sends them, records
// the outcomes and returns how many it claimed.
func (h *Hub) distribute(ctx context.Context) int {
	const batch, parallel = 32, 4
	now := h.o.Now()
	ds, err := h.o.Store.ClaimDistributions(ctx, h.o.Owner, now, now.Add(2*h.o.Timeout+10*time.Second), batch)
	if err != nil {
		if ctx.Err() == nil {
			h.o.Log.Warn("websub hub: claim", "err", err)
		}
		return 0
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, d := range ds {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			o := h.send(ctx, d)
			if err := h.o.Store.FinishDistribution(context.WithoutCancel(ctx), h.o.Owner, d, o, h.o.Now()); err != nil {
				h.o.Log.Warn("websub hub: record outcome", "err", err)
			}
		}()
	}
	wg.Wait()
	return len(ds)
}

// Signature is the X-Hub-Signature value of body under secret.
func Signature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// send POSTs d's content to its callback (WebSub §7) and says what came
// of it.
func (h *Hub) send(ctx context.Context, d Distribution) Outcome {
	fail := func(err string) Outcome {
		if d.Attempts+1 >= h.o.Attempts {
			h.o.Log.Warn("websub hub: gave up a distribution", "topic", d.Topic, "attempts", d.Attempts+1, "err", err)
			return Outcome{Err: err}
		}
		wait := h.o.Backoff << min(d.Attempts, 20)
		return Outcome{RetryAt: h.o.Now().Add(min(wait, h.o.MaxBackoff)), Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Callback, bytes.NewReader(d.Body))
	if err != nil {
		return fail(err.Error())
	}
	req.Header.Set("Content-Type", d.ContentType)
	req.Header.Set("User-Agent", "syndicated-websub-hub")
	req.Header["Link"] = []string{"<" + h.o.URL + `>; rel="hub"`, "<" + d.Topic + `>; rel="self"`}
	if d.Secret != "" {
		req.Header.Set("X-Hub-Signature", Signature(d.Secret, d.Body))
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return fail(err.Error())
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2:
		return Outcome{Delivered: true}
	case resp.StatusCode == http.StatusGone:
		h.o.Log.Info("websub hub: the subscriber is gone (410)", "topic", d.Topic)
		return Outcome{Gone: true}
	}
	return fail("callback answered " + resp.Status)
}
