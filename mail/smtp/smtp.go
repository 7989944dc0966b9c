// Package smtp is the mail.Transport that sends over SMTP with
// github.com/wneessen/go-mail, configured from a URL, with a small pool of
// reused connections. Its errors are *mail.Error, classified from the SMTP
// reply codes.
package smtp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/mail/internal/compose"
)

// Config says how to reach the SMTP server.
type Config struct {
	// URL is smtp.url: smtp://[user[:pass]@]host[:port][?tls=opportunistic|mandatory|none]
	// (STARTTLS policy; default mandatory, port 587) or smtps://… (implicit
	// TLS, port 465). Further query keys: auth=plain|login|cram-md5|
	// scram-sha-256|auto (default plain when a user is given), timeout=5m,
	// conns=4 (connections at most), helo=NAME, insecure_skip_verify=true
	// (tests only), data_timeout=10m.
	URL     string
	From    string // default From, e.g. "Syndicated <news@example.com>"
	ReplyTo string // default Reply-To (optional)
	// Timeout bounds connecting: dialing, the greeting, EHLO, STARTTLS and
	// AUTH (default 5 minutes, RFC 5321 §4.5.3.2); the URL's timeout=
	// overrides it.
	Timeout time.Duration
	// DataTimeout bounds one message's transaction, MAIL FROM to the reply
	// to the final "." (default 10 minutes, the RFC 5321 §4.5.3.2 wait for
	// that reply); the URL's data_timeout= overrides it. A send that runs
	// out of it after the message was written is "maybe delivered".
	DataTimeout time.Duration
	// DKIM signs every message when not nil.
	DKIM *DKIM
	// Conns is how many SMTP connections may be open at once (default 4);
	// the URL's conns= overrides it.
	Conns  int
	Logger *slog.Logger
	Now    func() time.Time // default time.Now
}

// DefaultTimeout bounds connecting (RFC 5321's 5 minutes for the greeting).
const DefaultTimeout = 5 * time.Minute

// DefaultDataTimeout bounds one message's transaction (RFC 5321's 10
// minutes for the reply to the final ".").
const DefaultDataTimeout = 10 * time.Minute

// DefaultConns is how many SMTP connections may be open at once.
const DefaultConns = 4

// maxIdle is how long an idle connection is kept for reuse; servers drop
// idle clients after a few minutes.
const maxIdle = 30 * time.Second

// SMTP sends over SMTP with go-mail. Up to Conns connections are used at
// once (callers beyond that wait, honouring their context); a connection is
// reused by the next Send while it is healthy and dropped after any error.
type SMTP struct {
	client  *gomail.Client // configuration only; connections come from DialToSMTPClientWithContext
	from    string
	replyTo string
	desc    string
	timeout time.Duration
	data    time.Duration
	now     func() time.Time
	log     *slog.Logger
	sem     chan struct{}
	dkim    *gomail.DKIMSigner // nil: no signing
	bufs    sync.Pool          // *[]byte: messages as written, reused

	mu     sync.Mutex
	idle   []*conn
	closed bool
}

type conn struct {
	c       *smtp.Client
	raw     net.Conn
	idleAt  time.Time
	started time.Time
	// What the server offered in its EHLO reply.
	pipelining, smtputf8 bool
	data                 []byte // the DATA content being written, reused
}

type connKey struct{}

// connHolder receives the net.Conn the dial function makes, so Send can
// interrupt a blocked read or write when its context ends.
type connHolder struct {
	mu        sync.Mutex
	c         net.Conn
	cancelled bool
}

func (h *connHolder) set(c net.Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.c = c
	if h.cancelled {
		_ = c.SetDeadline(time.Unix(1, 0))
	}
}

func (h *connHolder) cancel() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cancelled = true
	if h.c != nil {
		_ = h.c.SetDeadline(time.Unix(1, 0))
	}
}

func (h *connHolder) get() net.Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.c
}

// New parses cfg.URL and prepares an SMTP transport. It does not
// connect.
func New(cfg Config) (*SMTP, error) {
	ep, err := parseEndpoint(cfg.URL)
	if err != nil {
		return nil, err
	}
	timeout, dataTimeout, conns, err := limits(ep.q, cfg)
	if err != nil {
		return nil, err
	}
	policy, policyName, tlsConf, err := tlsSettings(ep)
	if err != nil {
		return nil, err
	}
	opts := []gomail.Option{
		gomail.WithPort(ep.port),
		// go-mail's own deadline while dialing; get bounds connecting by
		// timeout, and Send sets each transaction's deadline itself.
		gomail.WithTimeout(dataTimeout),
		gomail.WithTLSPolicy(policy),
		gomail.WithTLSConfig(tlsConf),
		gomail.WithDialContextFunc(dialFunc(ep.implicitTLS, tlsConf)),
	}
	if ep.implicitTLS {
		opts = append(opts, gomail.WithSSL())
	}
	var signer *gomail.DKIMSigner
	if cfg.DKIM != nil {
		if signer, err = cfg.DKIM.signer(); err != nil {
			return nil, err
		}
	}
	if v := ep.q.Get("helo"); v != "" {
		opts = append(opts, gomail.WithHELO(v))
	}
	auth, err := authOptions(ep)
	if err != nil {
		return nil, err
	}
	client, err := gomail.NewClient(ep.host, append(opts, auth...)...)
	if err != nil {
		return nil, fmt.Errorf("smtp.url %s: %w", redactURL(cfg.URL), err)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &SMTP{
		client:  client,
		from:    cfg.From,
		replyTo: cfg.ReplyTo,
		desc:    fmt.Sprintf("%s://%s (%s, %d connections)", ep.scheme, net.JoinHostPort(ep.host, strconv.Itoa(ep.port)), policyName, conns),
		timeout: timeout,
		data:    dataTimeout,
		now:     now,
		log:     logger,
		sem:     make(chan struct{}, conns),
		dkim:    signer,
		bufs:    sync.Pool{New: func() any { return new([]byte) }},
	}, nil
}

// endpoint is smtp.url, parsed and checked.
type endpoint struct {
	scheme      string // smtp or smtps
	host        string
	port        int
	implicitTLS bool // smtps://
	user        *url.Userinfo
	q           url.Values
}

// parseEndpoint checks the scheme, host, port and parameter names of
// smtp.url. Errors never show the password.
func parseEndpoint(raw string) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("smtp.url: %s", redactURL(raw))
	}
	ep := endpoint{scheme: strings.ToLower(u.Scheme), host: u.Hostname(), user: u.User, q: u.Query()}
	if ep.scheme != "smtp" && ep.scheme != "smtps" {
		return endpoint{}, fmt.Errorf("smtp.url %s: scheme must be smtp or smtps", redactURL(raw))
	}
	if ep.host == "" {
		return endpoint{}, fmt.Errorf("smtp.url %s: no host", redactURL(raw))
	}
	for k := range ep.q {
		switch k {
		case "tls", "auth", "timeout", "data_timeout", "conns", "helo", "insecure_skip_verify":
		default:
			return endpoint{}, fmt.Errorf("smtp.url %s: unknown parameter %q", redactURL(raw), k)
		}
	}
	ep.implicitTLS = ep.scheme == "smtps"
	ep.port = 587
	if ep.implicitTLS {
		ep.port = 465
	}
	if p := u.Port(); p != "" {
		if ep.port, err = strconv.Atoi(p); err != nil || ep.port < 1 || ep.port > 65535 {
			return endpoint{}, fmt.Errorf("smtp.url: bad port %q", p)
		}
	}
	return ep, nil
}

// limits are the connect and data timeouts and the connection count: URL
// parameters first, then the config keys, then the defaults.
func limits(q url.Values, cfg Config) (timeout, dataTimeout time.Duration, conns int, err error) {
	if timeout, err = durationParam(q, "timeout", cfg.Timeout, DefaultTimeout); err != nil {
		return 0, 0, 0, err
	}
	if dataTimeout, err = durationParam(q, "data_timeout", cfg.DataTimeout, DefaultDataTimeout); err != nil {
		return 0, 0, 0, err
	}
	conns = cfg.Conns
	if v := q.Get("conns"); v != "" {
		if conns, err = strconv.Atoi(v); err != nil || conns < 1 || conns > 100 {
			return 0, 0, 0, fmt.Errorf("smtp.url: bad conns %q (1-100)", v)
		}
	}
	if conns <= 0 {
		conns = DefaultConns
	}
	return timeout, dataTimeout, conns, nil
}

// tlsSettings is the STARTTLS policy (tls=), its name for String, and the
// TLS configuration (insecure_skip_verify=).
func tlsSettings(ep endpoint) (gomail.TLSPolicy, string, *tls.Config, error) {
	policy, policyName := gomail.TLSMandatory, "STARTTLS mandatory"
	switch v := strings.ToLower(ep.q.Get("tls")); v {
	case "", "mandatory":
	case "opportunistic":
		policy, policyName = gomail.TLSOpportunistic, "STARTTLS opportunistic"
	case "none":
		policy, policyName = gomail.NoTLS, "no TLS"
	default:
		return 0, "", nil, fmt.Errorf("smtp.url: tls=%q: want opportunistic, mandatory or none", v)
	}
	if ep.implicitTLS {
		if ep.q.Get("tls") != "" {
			return 0, "", nil, errors.New("smtp.url: tls= applies to smtp:// (STARTTLS); smtps:// always uses TLS")
		}
		policyName = "implicit TLS"
	}
	tlsConf := &tls.Config{ServerName: ep.host, MinVersion: tls.VersionTLS12}
	if v := ep.q.Get("insecure_skip_verify"); v != "" {
		skip, err := strconv.ParseBool(v)
		if err != nil {
			return 0, "", nil, fmt.Errorf("smtp.url: bad insecure_skip_verify %q", v)
		}
		tlsConf.InsecureSkipVerify = skip
	}
	return policy, policyName, tlsConf, nil
}

// dialFunc dials (over TLS for smtps://) and hands the connection to the
// Send that asked for it, so that Send can interrupt a blocked read or
// write when its context ends.
func dialFunc(implicitTLS bool, tlsConf *tls.Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		var err error
		d := &net.Dialer{}
		if implicitTLS {
			c, err = (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(ctx, network, addr)
		} else {
			c, err = d.DialContext(ctx, network, addr)
		}
		if h, ok := ctx.Value(connKey{}).(*connHolder); ok && err == nil {
			h.set(c)
		}
		return c, err
	}
}

// authOptions are the SMTP AUTH options of the URL's user (auth= picks
// the mechanism); none without a user.
func authOptions(ep endpoint) ([]gomail.Option, error) {
	if ep.user == nil || ep.user.Username() == "" {
		return nil, nil
	}
	pass, _ := ep.user.Password()
	auth := gomail.SMTPAuthPlain
	switch v := strings.ToLower(ep.q.Get("auth")); v {
	case "", "plain":
	case "login":
		auth = gomail.SMTPAuthLogin
	case "cram-md5":
		auth = gomail.SMTPAuthCramMD5
	case "scram-sha-256":
		auth = gomail.SMTPAuthSCRAMSHA256
	case "auto":
		auth = gomail.SMTPAuthAutoDiscover
	default:
		return nil, fmt.Errorf("smtp.url: auth=%q: want plain, login, cram-md5, scram-sha-256 or auto", v)
	}
	opts := []gomail.Option{gomail.WithUsername(ep.user.Username()), gomail.WithPassword(pass)}
	if auth == gomail.SMTPAuthAutoDiscover && ep.implicitTLS {
		// go-mail cannot tell that our own TLS dial encrypted the
		// connection, so its discovery would refuse PLAIN and LOGIN.
		return append(opts, gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1,
			gomail.SMTPAuthCramMD5, gomail.SMTPAuthPlain, gomail.SMTPAuthLogin)), nil
	}
	return append(opts, gomail.WithSMTPAuth(auth)), nil
}

// MaxSendTime is the longest one Send may take once it holds a
// connection slot: connecting, then the transaction.
func (s *SMTP) MaxSendTime() time.Duration { return s.timeout + s.data }

// String says where mail goes, without credentials.
func (s *SMTP) String() string { return s.desc }

// Send delivers m. The error, when not nil, is a *mail.Error: see its
// Temporary field and mail.IsPermanent.
func (s *SMTP) Send(ctx context.Context, m *mail.Message) error {
	buf := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(buf)
	msg, env, err := s.render((*buf)[:0], m)
	*buf = msg[:0]
	if err != nil {
		return err
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return &mail.Error{Op: "connect", Temporary: true, Err: fmt.Errorf("waiting for an SMTP connection: %w", ctx.Err())}
	}
	defer func() { <-s.sem }()

	for attempt := 0; ; attempt++ {
		c, reused, err := s.get(ctx)
		if err != nil {
			return err
		}
		_ = c.raw.SetDeadline(time.Now().Add(s.data))
		stop := context.AfterFunc(ctx, func() { _ = c.raw.SetDeadline(time.Unix(1, 0)) })
		o := transact(ctx, c, m, env.From, env.To, msg)
		interrupted := !stop()
		switch {
		case o.err == nil && !interrupted:
			s.put(c)
			return nil
		case o.err == nil: // accepted, but the context ended as it finished
			_ = c.raw.Close()
			return nil
		case o.reusable && !interrupted:
			s.put(c)
		default:
			_ = c.raw.Close()
		}
		if reused && attempt == 0 && !interrupted && o.stage == stageMail && closedWhileIdle(o.err) {
			// The server had dropped the idle connection before this
			// message began; try once on a new one.
			continue
		}
		e := classify(ctx, o)
		s.log.Debug("smtp send failed", "error", e, "detail", e.(*mail.Error).Detail())
		return e
	}
}

// render writes m as it goes over the wire, DKIM-signed when configured,
// to dst. A message with a prepared Body is written directly; one with
// Text and HTML parts goes through go-mail's message builder.
func (s *SMTP) render(dst []byte, m *mail.Message) ([]byte, compose.Envelope, error) {
	var env compose.Envelope
	var headerLen int
	var err error
	if m != nil && m.Body != nil {
		dst, env, headerLen, err = compose.Write(dst, m, s.from, s.replyTo, s.now())
		if err != nil {
			return dst, env, err
		}
	} else {
		msg, menv, err := compose.Build(m, s.from, s.replyTo, s.now())
		if err != nil {
			return dst, env, err
		}
		env = menv
		b := bytes.NewBuffer(dst)
		if _, err := msg.WriteTo(b); err != nil {
			return dst, env, mail.BadMessage("%v", err)
		}
		dst = b.Bytes()
		headerLen = bytes.Index(dst, []byte("\r\n\r\n")) + 4
	}
	if s.dkim == nil {
		return dst, env, nil
	}
	// Sign the headers (each line with its CRLF, not the blank line) and
	// the body, and put the DKIM-Signature header first.
	sig, err := s.dkim.Sign(dst[:headerLen-2], dst[headerLen:])
	if err != nil {
		return dst, env, &mail.Error{Op: "build", Err: fmt.Errorf("DKIM signing: %w", err)}
	}
	out := make([]byte, 0, len(sig)+len(dst))
	return append(append(out, sig...), dst...), env, nil
}

// get returns an idle connection or dials a new one.
func (s *SMTP) get(ctx context.Context) (*conn, bool, error) {
	now := time.Now()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, false, &mail.Error{Op: "connect", Temporary: true, Err: mail.ErrClosed}
	}
	for len(s.idle) > 0 {
		c := s.idle[len(s.idle)-1]
		s.idle = s.idle[:len(s.idle)-1]
		if now.Sub(c.idleAt) < maxIdle {
			s.mu.Unlock()
			return c, true, nil
		}
		go quit(c)
	}
	s.mu.Unlock()

	h := &connHolder{}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	dctx := context.WithValue(ctx, connKey{}, h)
	// go-mail bounds the dial with its timeout but not the greeting, STARTTLS
	// and AUTH exchanges; interrupt them when ctx ends.
	stop := context.AfterFunc(ctx, h.cancel)
	sc, err := s.client.DialToSMTPClientWithContext(dctx)
	stop()
	raw := h.get()
	if err != nil {
		if raw != nil {
			_ = raw.Close()
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, false, classifyConnect(err)
	}
	if raw == nil { // cannot happen: our dial function always records it
		_ = sc.Close()
		return nil, false, &mail.Error{Op: "connect", Temporary: true, Err: errors.New("no connection recorded")}
	}
	s.log.Debug("smtp connected", "server", s.desc)
	c := &conn{c: sc, raw: raw, started: now}
	c.pipelining, _ = sc.Extension("PIPELINING")
	c.smtputf8, _ = sc.Extension("SMTPUTF8")
	return c, false, nil
}

func (s *SMTP) put(c *conn) {
	c.idleAt = time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		go quit(c)
		return
	}
	s.idle = append(s.idle, c)
}

func quit(c *conn) {
	_ = c.raw.SetDeadline(time.Now().Add(5 * time.Second))
	_ = c.c.Quit()
	_ = c.raw.Close()
}

// Close says QUIT on idle connections and makes further sends fail.
// Sends in progress finish on their own connection, which is then closed.
func (s *SMTP) Close() error {
	s.mu.Lock()
	idle := s.idle
	s.idle = nil
	s.closed = true
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range idle {
		wg.Go(func() { quit(c) })
	}
	wg.Wait()
	return nil
}

// durationParam is the URL's name= duration, else given, else def.
func durationParam(q url.Values, name string, given, def time.Duration) (time.Duration, error) {
	if v := q.Get(name); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("smtp.url: bad %s %q", name, v)
		}
		return d, nil
	}
	if given > 0 {
		return given, nil
	}
	return def, nil
}

// redactURL returns u with any password replaced, for logs.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparseable URL)"
	}
	return p.Redacted()
}
