// Package websub pings a WebSub hub (https://www.w3.org/TR/websub/) when a
// feed changed: POST hub.mode=publish&hub.url=TOPIC, retried with backoff.
package websub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// HubPath is where the daemon serves the built-in hub (feeds.hub =
// "builtin"): BASE_URL + HubPath is the hub URL the feeds name.
const HubPath = "/websub"

// Publisher sends publish pings to one hub.
type Publisher struct {
	hub         string
	client      *http.Client
	attempts    int
	backoff     time.Duration
	maxBackoff  time.Duration
	sleep       func(ctx context.Context, d time.Duration) error
	userAgent   string
	perAttempts time.Duration
}

// Options tune a Publisher. Zero values take the defaults.
type Options struct {
	Client     *http.Client  // http.DefaultClient when nil
	Attempts   int           // tries per topic, default 5
	Backoff    time.Duration // first wait after a failure, default 1s; doubles
	MaxBackoff time.Duration // cap of one wait, default 1m
	Timeout    time.Duration // per attempt, default 10s
	UserAgent  string        // default "syndicated-websub"
	// Sleep waits d or until ctx is done; a timer-based wait when nil.
	// Tests inject it to avoid real waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// New returns a Publisher for hubURL.
func New(hubURL string, opts Options) (*Publisher, error) {
	u, err := url.Parse(hubURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("websub: hub URL %q is not an http(s) URL", hubURL)
	}
	p := &Publisher{hub: hubURL, client: opts.Client, attempts: opts.Attempts, backoff: opts.Backoff,
		maxBackoff: opts.MaxBackoff, sleep: opts.Sleep, userAgent: opts.UserAgent, perAttempts: opts.Timeout}
	if p.client == nil {
		p.client = http.DefaultClient
	}
	if p.attempts <= 0 {
		p.attempts = 5
	}
	if p.backoff <= 0 {
		p.backoff = time.Second
	}
	if p.maxBackoff <= 0 {
		p.maxBackoff = time.Minute
	}
	if p.perAttempts <= 0 {
		p.perAttempts = 10 * time.Second
	}
	if p.userAgent == "" {
		p.userAgent = "syndicated-websub"
	}
	if p.sleep == nil {
		p.sleep = sleepCtx
	}
	return p, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// PermanentError is a hub answer that retrying will not change (a 4xx
// other than 408 and 429).
type PermanentError struct {
	Status int
	Body   string
}

func (e *PermanentError) Error() string {
	return fmt.Sprintf("hub refused the ping: %d %s", e.Status, e.Body)
}

// Publish pings the hub once per topic URL, each retried with exponential
// backoff on network errors, 5xx, 408 and 429, until Attempts is spent or
// ctx is done. It tries every topic and returns the joined errors.
func (p *Publisher) Publish(ctx context.Context, topics ...string) error {
	var errs []error
	for _, topic := range topics {
		if err := p.publishOne(ctx, topic); err != nil {
			errs = append(errs, fmt.Errorf("websub: publish %s to %s: %w", topic, p.hub, err))
			if ctx.Err() != nil {
				break
			}
		}
	}
	return errors.Join(errs...)
}

func (p *Publisher) publishOne(ctx context.Context, topic string) error {
	wait := p.backoff
	var last error
	for attempt := 1; ; attempt++ {
		err := p.ping(ctx, topic)
		if err == nil {
			return nil
		}
		last = err
		var perm *PermanentError
		if errors.As(err, &perm) {
			return err
		}
		if attempt >= p.attempts {
			return fmt.Errorf("gave up after %d attempts: %w", attempt, last)
		}
		if err := p.sleep(ctx, wait); err != nil {
			return fmt.Errorf("%w (last failure: %v)", err, last)
		}
		wait *= 2
		if wait > p.maxBackoff {
			wait = p.maxBackoff
		}
	}
}

func (p *Publisher) ping(ctx context.Context, topic string) error {
	ctx, cancel := context.WithTimeout(ctx, p.perAttempts)
	defer cancel()
	form := url.Values{"hub.mode": {"publish"}, "hub.url": {topic}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.hub, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", p.userAgent)
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 &&
		resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests:
		return &PermanentError{Status: resp.StatusCode, Body: strings.TrimSpace(string(body))}
	default:
		return fmt.Errorf("hub answered %d %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
}
