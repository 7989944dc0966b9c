package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/syndicated/syndicated/subscribers"
)

// mailServer is an in-process SMTP server: STARTTLS only when asked, AUTH
// PLAIN for one user.
type mailServer struct{ user, pass string }

type mailSession struct {
	be     *mailServer
	authed bool
}

func (m *mailServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{be: m}, nil }

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.be.user || pass != s.be.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "authentication failed"}
		}
		s.authed = true
		return nil
	}), nil
}
func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *mailSession) Data(r io.Reader) error               { _, err := io.Copy(io.Discard, r); return err }
func (s *mailSession) Reset()                               {}
func (s *mailSession) Logout() error                        { return nil }

func startMailServer(t *testing.T, starttls bool) string {
	t.Helper()
	srv := smtp.NewServer(&mailServer{user: "mailer", pass: "right-pass"})
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	if starttls {
		srv.TLSConfig = selfSignedTLS(t)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

func TestConfigCheckSMTP(t *testing.T) {
	plain := startMailServer(t, false)
	withTLS := startMailServer(t, true)
	cases := []struct {
		name, url string
		code      int
		want      []string
	}{
		{"mandatory STARTTLS, server without TLS", "smtp://" + plain, 1,
			[]string{"offers  no STARTTLS", "FAIL    STARTTLS: smtp.url asks for it (tls=mandatory", "offers  AUTH PLAIN"}},
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
		code, out, errs := run(t, context.Background(), []string{"SYNDICATED_SMTP_URL=" + tc.url}, "config", "check", "--data", t.TempDir(), "--smtp")
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s%s", tc.name, code, tc.code, out, errs)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, w, out)
			}
		}
		if strings.Contains(out+errs, "right-pass") || strings.Contains(out+errs, "wrong-pass") {
			t.Errorf("%s: the password was printed", tc.name)
		}
	}
}

// With smtp://host:port (mandatory STARTTLS) against a server without TLS,
// the sign-up's confirmation stays in the outbox and the log says why at
// WARN.
func TestUnsendableConfirmationIsQueuedAndExplained(t *testing.T) {
	env := []string{"SYNDICATED_SAMPLES=false", "SYNDICATED_BASE_URL=https://news.example", "SYNDICATED_SMTP_URL=smtp://" + startMailServer(t, false)}
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
	pending, err := openIn(t, env, data).store.ListConfirmations(context.Background(), subscribers.ConfirmationPending)
	if err != nil || len(pending) != 1 || !strings.Contains(pending[0].LastError, "STARTTLS") {
		t.Errorf("outbox: %+v %v", pending, err)
	}
}
