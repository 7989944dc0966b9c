package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// smtpProbe is what `config check --smtp` learnt about the mail server.
type smtpProbe struct {
	out      io.Writer
	problems []string
}

func (p *smtpProbe) say(format string, args ...any) { fmt.Fprintf(p.out, format+"\n", args...) }

func (p *smtpProbe) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.problems = append(p.problems, msg)
	p.say("FAIL    %s", msg)
}

// checkSMTP connects to the server smtp.url names, as the mailer would
// (implicit TLS for smtps://, STARTTLS by the tls= policy for smtp://,
// AUTH when the URL has a user), reports on w what the server offers and
// what fails, and returns an error when mail could not be sent. It sends
// no mail. The password is never printed.
func checkSMTP(ctx context.Context, w io.Writer, rawURL string, timeout time.Duration) error {
	p := &smtpProbe{out: w}
	u, err := url.Parse(rawURL)
	if err != nil {
		return errors.New("smtp.url does not parse")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "smtp" && scheme != "smtps" {
		return fmt.Errorf("smtp.url: scheme %q: want smtp or smtps", u.Scheme)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[string]string{"smtp": "587", "smtps": "465"}[scheme]
	}
	if _, err := strconv.Atoi(port); err != nil {
		return fmt.Errorf("smtp.url: bad port %q", port)
	}
	q := u.Query()
	policy := strings.ToLower(q.Get("tls"))
	if policy == "" {
		policy = "mandatory"
	}
	if scheme == "smtps" {
		policy = "implicit"
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	skip, _ := strconv.ParseBool(q.Get("insecure_skip_verify"))
	tlsConf := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: skip}
	addr := net.JoinHostPort(host, port)
	p.say("server  %s://%s (TLS: %s)", scheme, addr, map[string]string{
		"mandatory": "STARTTLS mandatory", "opportunistic": "STARTTLS opportunistic", "none": "none", "implicit": "implicit TLS",
	}[policy])

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := &net.Dialer{}
	var conn net.Conn
	if policy == "implicit" {
		conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		p.fail("connect: %v", err)
		return p.result()
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	p.say("ok      connected to %s", conn.RemoteAddr())
	if tc, ok := conn.(*tls.Conn); ok {
		p.say("ok      TLS %s, certificate for %s", tls.VersionName(tc.ConnectionState().Version), host)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		p.fail("greeting: %v", err)
		return p.result()
	}
	defer c.Close()
	helo := q.Get("helo")
	if helo == "" {
		helo = "localhost"
	}
	if err := c.Hello(helo); err != nil {
		p.fail("EHLO: %v", err)
		return p.result()
	}
	starttls, _ := c.Extension("STARTTLS")
	switch {
	case policy == "implicit":
	case !starttls && policy == "mandatory":
		p.say("offers  no STARTTLS")
		p.fail("STARTTLS: smtp.url asks for it (tls=mandatory, the default for smtp://) but the server does not offer it, so every email fails; " +
			"enable TLS on the server, use smtps://, or on a trusted network only add ?tls=opportunistic or ?tls=none")
		p.reportAuth(c)
		return p.result()
	case !starttls:
		p.say("offers  no STARTTLS (tls=%s: mail goes unencrypted)", policy)
	case policy == "none":
		p.say("offers  STARTTLS (not used: tls=none)")
	default:
		p.say("offers  STARTTLS")
		if err := c.StartTLS(tlsConf); err != nil {
			p.fail("STARTTLS: %v", err)
			return p.result()
		}
		state, _ := c.TLSConnectionState()
		p.say("ok      TLS %s, certificate for %s", tls.VersionName(state.Version), host)
	}
	mechs := p.reportAuth(c)
	if u.User != nil && u.User.Username() != "" {
		p.login(c, u, host, mechs)
	} else if mechs != "" {
		p.say("note    smtp.url has no user: no AUTH is tried (the server may refuse to relay)")
	}
	_ = c.Quit()
	return p.result()
}

// reportAuth prints the AUTH mechanisms the server offers (now).
func (p *smtpProbe) reportAuth(c *smtp.Client) string {
	ok, mechs := c.Extension("AUTH")
	if !ok {
		p.say("offers  no AUTH")
		return ""
	}
	p.say("offers  AUTH %s", mechs)
	return mechs
}

// login tries the URL's credentials with PLAIN or CRAM-MD5 (the others are
// only reported).
func (p *smtpProbe) login(c *smtp.Client, u *url.URL, host, offered string) {
	pass, _ := u.User.Password()
	mech := strings.ToLower(u.Query().Get("auth"))
	var a smtp.Auth
	switch mech {
	case "", "plain":
		mech, a = "PLAIN", smtp.PlainAuth("", u.User.Username(), pass, host)
	case "cram-md5":
		mech, a = "CRAM-MD5", smtp.CRAMMD5Auth(u.User.Username(), pass)
	default:
		p.say("note    AUTH %s is not tried by this check", strings.ToUpper(mech))
		return
	}
	if offered == "" {
		p.fail("AUTH: smtp.url has a user but the server offers no AUTH%s", map[bool]string{true: " before TLS", false: ""}[u.Query().Get("tls") == "none"])
		return
	}
	if !strings.Contains(" "+strings.ToUpper(offered)+" ", " "+mech+" ") {
		p.fail("AUTH %s: the server offers only %s (set ?auth= in smtp.url)", mech, offered)
		return
	}
	if err := c.Auth(a); err != nil {
		p.fail("AUTH %s as %s: %v", mech, u.User.Username(), err)
		return
	}
	p.say("ok      AUTH %s as %s", mech, u.User.Username())
}

func (p *smtpProbe) result() error {
	if len(p.problems) == 0 {
		p.say("smtp OK: mail can be sent")
		return nil
	}
	return fmt.Errorf("smtp: %d problem(s): %w", len(p.problems), errReported)
}
