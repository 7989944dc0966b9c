package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/internal/smtptest"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

// config check --smtp runs the transport's probe (mail/smtp tests it
// case by case) on smtp.url and exits 1 when mail could not be sent.
func TestConfigCheckSMTP(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Script{Users: map[string]string{"mailer": "right-pass"}})
	for _, tc := range []struct {
		name, url string
		code      int
		want      string
	}{
		{"sendable", "smtp://mailer:right-pass@" + srv.Addr + "?tls=none", 0, "smtp OK"},
		{"mandatory STARTTLS, server without TLS", "smtp://" + srv.Addr, 1, "FAIL    STARTTLS"},
		{"unknown URL parameter", "smtp://" + srv.Addr + "?tsl=none", 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := run(t, context.Background(), []string{"SYNDICATED_SMTP_URL=" + tc.url}, "config", "check", "--data", t.TempDir(), "--smtp")
			if code != tc.code || !strings.Contains(out, tc.want) || strings.Contains(out+errs, "right-pass") {
				t.Errorf("exit %d, want %d and %q:\n%s%s", code, tc.code, tc.want, out, errs)
			}
		})
	}
}

// With smtp://host:port (mandatory STARTTLS) against a server without TLS,
// the sign-up's confirmation stays in the outbox and the log says why at
// WARN.
func TestUnsendableConfirmationIsQueuedAndExplained(t *testing.T) {
	env := []string{"SYNDICATED_SAMPLES=false", "SYNDICATED_BASE_URL=https://news.example", "SYNDICATED_SMTP_URL=smtp://" + smtptest.Start(t, smtptest.Script{}).Addr}
	data := t.TempDir()
	base, logs := servingLogged(t, env, data)
	if code := signUp(t, base, "queued.reader@example.org"); code != http.StatusAccepted {
		t.Fatalf("sign-up: %d", code)
	}
	within(t, 10*time.Second, "a warning about the confirmation", func() bool { return strings.Contains(logs.String(), "confirmation email not sent") })
	line := ""
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, "confirmation email not sent") {
			line = l
		}
	}
	if !strings.Contains(line, "level=WARN") || !strings.Contains(line, "STARTTLS") || !strings.Contains(line, "will retry") {
		t.Errorf("warning %q does not say why", line)
	}
	if strings.Contains(logs.String(), "queued.reader") {
		t.Errorf("the address was logged:\n%s", logs)
	}
	pending := storagetest.Confirmations(t, openIn(t, env, data).Store, subscribers.ConfirmationPending)
	if len(pending) != 1 || !strings.Contains(pending[0].LastError, "STARTTLS") {
		t.Errorf("outbox: %+v", pending)
	}
}
