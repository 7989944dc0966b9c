package smtp

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/internal/smtptest"
)

// Probe reports what the server offers and what fails, step by step, with
// the transport's own reading of smtp.url; it never prints the password.
func TestProbe(t *testing.T) {
	users := map[string]string{"mailer": "right-pass"}
	plain := smtptest.Start(t, smtptest.Script{Users: users}).Addr
	withTLS := smtptest.Start(t, smtptest.Script{Users: users, TLS: smtptest.SelfSigned(t)}).Addr
	cases := []struct {
		name, url string
		problems  int
		want      []string
	}{
		{"mandatory STARTTLS, server without TLS", "smtp://" + plain, 1,
			[]string{"(TLS: STARTTLS mandatory)", "offers  no STARTTLS", "FAIL    STARTTLS: smtp.url asks for it (tls=mandatory", "offers  AUTH PLAIN"}},
		{"no TLS wanted", "smtp://mailer:right-pass@" + plain + "?tls=none", 0,
			[]string{"offers  no STARTTLS (tls=none", "ok      AUTH PLAIN as mailer", "smtp OK"}},
		{"wrong password", "smtp://mailer:wrong-pass@" + plain + "?tls=none", 1,
			[]string{"FAIL    AUTH PLAIN as mailer: 535"}},
		{"STARTTLS with an untrusted certificate", "smtp://" + withTLS, 1,
			[]string{"offers  STARTTLS", "FAIL    STARTTLS: tls: failed to verify certificate"}},
		{"STARTTLS", "smtp://mailer:right-pass@" + withTLS + "?insecure_skip_verify=true", 0,
			[]string{"ok      TLS TLS 1.3", "ok      AUTH PLAIN as mailer", "smtp OK"}},
		{"nobody listening", "smtp://127.0.0.1:1", 1, []string{"FAIL    connect:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Probe(context.Background(), &out, Config{URL: tc.url, Timeout: 10 * time.Second})
			var pe *ProbeError
			if got := 0; errors.As(err, &pe) {
				got = len(pe.Problems)
				if got != tc.problems {
					t.Errorf("%d problems %q, want %d", got, pe.Problems, tc.problems)
				}
			} else if err != nil || tc.problems != 0 {
				t.Errorf("err = %v, want %d problems", err, tc.problems)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(out.String(), "right-pass") || strings.Contains(out.String(), "wrong-pass") {
				t.Errorf("the password was printed:\n%s", out.String())
			}
		})
	}
}

// The probe reads smtp.url as the transport does: what New refuses, the
// probe refuses too, before connecting; and it waits as long as the
// transport would (smtp.timeout, the URL's timeout=, else DefaultTimeout).
func TestProbeSharesTheTransportsURLRules(t *testing.T) {
	for _, u := range []string{
		"smtp://mail.example.org?tsl=none",           // a misspelt parameter
		"smtp://mail.example.org?tls=sometimes",      // a policy that does not exist
		"smtps://mail.example.org?tls=opportunistic", // tls= on implicit TLS
		"smtp://mail.example.org:99999",
		"smtp://mail.example.org?timeout=soon",
		"http://mail.example.org",
	} {
		_, newErr := New(Config{URL: u})
		var out bytes.Buffer
		probeErr := Probe(context.Background(), &out, Config{URL: u})
		if newErr == nil || probeErr == nil || newErr.Error() != probeErr.Error() || out.Len() != 0 {
			t.Errorf("%s: New says %v, Probe says %v after writing %q; want the same error before connecting", u, newErr, probeErr, out.String())
		}
	}
	// A server that accepts the connection and never greets: the probe
	// gives up after the URL's timeout=, not the configured hour.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		select {
		case c := <-accepted:
			c.Close()
		default:
		}
	})
	var out bytes.Buffer
	err = Probe(context.Background(), &out, Config{URL: "smtp://" + ln.Addr().String() + "?tls=none&timeout=300ms", Timeout: time.Hour})
	if err == nil || !strings.Contains(out.String(), "FAIL    greeting") || !strings.Contains(out.String(), "i/o timeout") {
		t.Errorf("stalled greeting: %v\n%s", err, out.String())
	}
}
