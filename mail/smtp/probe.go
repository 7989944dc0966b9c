package smtp

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	netsmtp "net/smtp"
	"strconv"
	"strings"
)

// ProbeError is Probe's answer when mail could not be sent: the problems
// it found, each already reported on the probe's writer.
type ProbeError struct{ Problems []string }

func (e *ProbeError) Error() string { return fmt.Sprintf("smtp: %d problem(s)", len(e.Problems)) }

// probe is what Probe learnt about the mail server.
type probe struct {
	out      io.Writer
	problems []string
}

func (p *probe) say(format string, args ...any) { fmt.Fprintf(p.out, format+"\n", args...) }

func (p *probe) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.problems = append(p.problems, msg)
	p.say("FAIL    %s", msg)
}

// Probe connects to the server cfg.URL names as New's transport would:
// the same URL parameters (an unknown one is an error), the same timeout
// (cfg.Timeout, the URL's timeout=, else DefaultTimeout) and the same TLS
// settings (implicit TLS for smtps://, STARTTLS by the tls= policy for
// smtp://, AUTH when the URL has a user). It reports on w what the server
// offers and what fails, and returns a *ProbeError when mail could not be
// sent. It sends no mail and never prints the password.
func Probe(ctx context.Context, w io.Writer, cfg Config) error {
	ep, err := parseEndpoint(cfg.URL)
	if err != nil {
		return err
	}
	timeout, _, _, err := limits(ep.q, cfg)
	if err != nil {
		return err
	}
	_, policyName, tlsConf, err := tlsSettings(ep)
	if err != nil {
		return err
	}
	p := &probe{out: w}
	addr := net.JoinHostPort(ep.host, strconv.Itoa(ep.port))
	p.say("server  %s://%s (TLS: %s)", ep.scheme, addr, policyName)

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := dialFunc(ep.implicitTLS, tlsConf)(ctx, "tcp", addr)
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
		p.say("ok      TLS %s, certificate for %s", tls.VersionName(tc.ConnectionState().Version), ep.host)
	}
	c, err := netsmtp.NewClient(conn, ep.host)
	if err != nil {
		p.fail("greeting: %v", err)
		return p.result()
	}
	defer c.Close()
	helo := ep.q.Get("helo")
	if helo == "" {
		helo = "localhost"
	}
	if err := c.Hello(helo); err != nil {
		p.fail("EHLO: %v", err)
		return p.result()
	}
	if !p.startTLS(c, ep, tlsConf) {
		return p.result()
	}
	mechs := p.reportAuth(c)
	if ep.user != nil && ep.user.Username() != "" {
		p.login(c, ep, mechs)
	} else if mechs != "" {
		p.say("note    smtp.url has no user: no AUTH is tried (the server may refuse to relay)")
	}
	_ = c.Quit()
	return p.result()
}

// startTLS does what the tls= policy asks on a plain connection and
// reports whether the probe goes on.
func (p *probe) startTLS(c *netsmtp.Client, ep endpoint, tlsConf *tls.Config) bool {
	if ep.implicitTLS {
		return true
	}
	policy := strings.ToLower(ep.q.Get("tls"))
	offered, _ := c.Extension("STARTTLS")
	switch {
	case !offered && (policy == "" || policy == "mandatory"):
		p.say("offers  no STARTTLS")
		p.fail("STARTTLS: smtp.url asks for it (tls=mandatory, the default for smtp://) but the server does not offer it, so every email fails; " +
			"enable TLS on the server, use smtps://, or on a trusted network only add ?tls=opportunistic or ?tls=none")
		p.reportAuth(c)
		return false
	case !offered:
		p.say("offers  no STARTTLS (tls=%s: mail goes unencrypted)", policy)
	case policy == "none":
		p.say("offers  STARTTLS (not used: tls=none)")
	default:
		p.say("offers  STARTTLS")
		if err := c.StartTLS(tlsConf); err != nil {
			p.fail("STARTTLS: %v", err)
			return false
		}
		state, _ := c.TLSConnectionState()
		p.say("ok      TLS %s, certificate for %s", tls.VersionName(state.Version), ep.host)
	}
	return true
}

// reportAuth prints the AUTH mechanisms the server offers (now).
func (p *probe) reportAuth(c *netsmtp.Client) string {
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
func (p *probe) login(c *netsmtp.Client, ep endpoint, offered string) {
	user := ep.user.Username()
	pass, _ := ep.user.Password()
	mech := strings.ToLower(ep.q.Get("auth"))
	var a netsmtp.Auth
	switch mech {
	case "", "plain":
		mech, a = "PLAIN", netsmtp.PlainAuth("", user, pass, ep.host)
	case "cram-md5":
		mech, a = "CRAM-MD5", netsmtp.CRAMMD5Auth(user, pass)
	default:
		p.say("note    AUTH %s is not tried by this check", strings.ToUpper(mech))
		return
	}
	if offered == "" {
		p.fail("AUTH: smtp.url has a user but the server offers no AUTH%s", map[bool]string{true: " before TLS", false: ""}[ep.q.Get("tls") == "none"])
		return
	}
	if !strings.Contains(" "+strings.ToUpper(offered)+" ", " "+mech+" ") {
		p.fail("AUTH %s: the server offers only %s (set ?auth= in smtp.url)", mech, offered)
		return
	}
	if err := c.Auth(a); err != nil {
		p.fail("AUTH %s as %s: %v", mech, user, err)
		return
	}
	p.say("ok      AUTH %s as %s", mech, user)
}

func (p *probe) result() error {
	if len(p.problems) == 0 {
		p.say("smtp OK: mail can be sent")
		return nil
	}
	return &ProbeError{Problems: p.problems}
}
