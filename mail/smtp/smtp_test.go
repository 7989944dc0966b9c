package smtp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/syndicated/syndicated/internal/mailtest"
	"github.com/syndicated/syndicated/mail"
)

// fakeServer is an in-process SMTP server (go-smtp) with fault injection by
// recipient address: temp@ → 451, perm@ → 550 5.1.1, drop@ → the connection
// is closed in DATA, stall@ → DATA never answers.
type fakeServer struct {
	srv  *smtp.Server
	addr string
	user string
	pass string

	mu       sync.Mutex
	received [][]byte
	rcpts    []string
	sessions int
}

type session struct {
	be     *fakeServer
	conn   *smtp.Conn
	to     []string
	authed bool
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.be.user || password != s.be.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.authed = true
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.be.user != "" {
		if !s.authed {
			return smtp.ErrAuthRequired
		}
	}
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	switch {
	case strings.HasPrefix(to, "temp@"):
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	case strings.HasPrefix(to, "perm@"):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.to = append(s.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	for _, to := range s.to {
		switch {
		case strings.HasPrefix(to, "drop@"):
			_ = s.conn.Conn().Close()
			return errors.New("dropped")
		case strings.HasPrefix(to, "stall@"):
			time.Sleep(3 * time.Second)
		case strings.HasPrefix(to, "datafail@"):
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "content rejected"}
		}
	}
	s.be.mu.Lock()
	s.be.received = append(s.be.received, b)
	s.be.rcpts = append(s.be.rcpts, s.to...)
	s.be.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.to = nil }
func (s *session) Logout() error { return nil }

func (f *fakeServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	f.mu.Lock()
	f.sessions++
	f.mu.Unlock()
	return &session{be: f, conn: c}, nil
}

func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// startServer runs a fake server on 127.0.0.1:0; implicitTLS wraps the
// listener in TLS, starttls offers STARTTLS.
func startServer(t *testing.T, user, pass string, starttls, implicitTLS bool) *fakeServer {
	t.Helper()
	f := &fakeServer{user: user, pass: pass}
	f.srv = smtp.NewServer(f)
	f.srv.Domain = "localhost"
	f.srv.AllowInsecureAuth = true
	f.srv.ErrorLog = log.New(io.Discard, "", 0)
	f.srv.ReadTimeout = 10 * time.Second
	f.srv.WriteTimeout = 10 * time.Second
	var ln net.Listener
	var err error
	if implicitTLS {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", selfSigned(t))
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if starttls {
			f.srv.TLSConfig = selfSigned(t)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	go func() { _ = f.srv.Serve(ln) }()
	t.Cleanup(func() { _ = f.srv.Close() })
	return f
}

func newSMTP(t *testing.T, url string) *SMTP {
	t.Helper()
	s, err := New(Config{URL: url, From: "Syndicated <news@example.com>", ReplyTo: "desk@example.com", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSMTPSendAndParts(t *testing.T) {
	srv := startServer(t, "mailer", "s3cret:/@", false, false)
	s := newSMTP(t, "smtp://mailer:s3cret%3A%2F%40@"+srv.addr+"?tls=none")
	if strings.Contains(s.String(), "s3cret") {
		t.Errorf("String() reveals the password: %s", s)
	}
	m := mailtest.Message("reader@example.org")
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if m.MessageID == "" || !strings.HasSuffix(m.MessageID, "@example.com") {
		t.Errorf("MessageID = %q", m.MessageID)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.received) != 1 || srv.rcpts[0] != "reader@example.org" {
		t.Fatalf("received %d, rcpts %v", len(srv.received), srv.rcpts)
	}
	mailtest.CheckParsed(t, srv.received[0], m)
}

func TestSMTPFaults(t *testing.T) {
	srv := startServer(t, "", "", false, false)
	s := newSMTP(t, "smtp://"+srv.addr+"?tls=none&timeout=1s&data_timeout=1s")
	cases := []struct {
		to        string
		temporary bool
		op        string
		code      int
		recipient bool
	}{
		{"temp@example.org", true, "rcpt", 451, false},
		{"perm@example.org", false, "rcpt", 550, true},
		{"drop@example.org", true, "data", 0, false},
		{"datafail@example.org", false, "data", 554, false},
		{"stall@example.org", true, "data", 0, false},
	}
	for _, c := range cases {
		t.Run(c.to, func(t *testing.T) {
			err := s.Send(context.Background(), mailtest.Message(c.to))
			if err == nil {
				t.Fatal("no error")
			}
			if temporary(err) != c.temporary || mail.IsPermanent(err) == c.temporary {
				t.Errorf("%v: temporary=%v mail.IsPermanent=%v", err, temporary(err), mail.IsPermanent(err))
			}
			if bounce := mail.ClassOf(err) == mail.ClassBounce; bounce != c.recipient {
				t.Errorf("%v: a bounce: %v, want %v", err, bounce, c.recipient)
			}
			var e *mail.Error
			if !errors.As(err, &e) || e.Op != c.op || e.Code != c.code {
				t.Errorf("error = %#v", err)
			}
			if strings.Contains(err.Error(), "@") {
				t.Errorf("error message reveals an address: %v", err)
			}
			// The transport recovers: the next message goes through.
			if err := s.Send(context.Background(), mailtest.Message("ok@example.org")); err != nil {
				t.Errorf("send after fault: %v", err)
			}
		})
	}
}

func TestSMTPAuthAndTLS(t *testing.T) {
	plain := startServer(t, "u", "p", false, false)
	starttls := startServer(t, "u", "p", true, false)
	implicit := startServer(t, "u", "p", false, true)
	cases := []struct {
		name, url string
		wantErr   bool
		permanent bool
	}{
		{"no TLS, good password", "smtp://u:p@" + plain.addr + "?tls=none", false, false},
		{"wrong password is temporary (not the recipient's fault)", "smtp://u:bad@" + plain.addr + "?tls=none", true, false},
		{"no credentials: 530 on MAIL", "smtp://" + plain.addr + "?tls=none", true, true},
		{"mandatory STARTTLS without STARTTLS", "smtp://u:p@" + plain.addr + "?tls=mandatory", true, false},
		{"opportunistic without STARTTLS", "smtp://u:p@" + plain.addr + "?tls=opportunistic", false, false},
		{"mandatory STARTTLS", "smtp://u:p@" + starttls.addr + "?tls=mandatory&insecure_skip_verify=true", false, false},
		{"STARTTLS with an untrusted certificate", "smtp://u:p@" + starttls.addr, true, false},
		{"implicit TLS, PLAIN", "smtps://u:p@" + implicit.addr + "?insecure_skip_verify=true", false, false},
		{"implicit TLS, auto", "smtps://u:p@" + implicit.addr + "?insecure_skip_verify=true&auth=auto", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSMTP(t, c.url)
			err := s.Send(context.Background(), mailtest.Message("reader@example.org"))
			if (err != nil) != c.wantErr {
				var e *mail.Error
				errors.As(err, &e)
				t.Fatalf("err = %v (%v)", err, e.Detail())
			}
			if err != nil && mail.IsPermanent(err) != c.permanent {
				t.Errorf("mail.IsPermanent(%v) = %v", err, mail.IsPermanent(err))
			}
			if err != nil && strings.Contains(err.Error(), ":bad@") {
				t.Errorf("error reveals the password: %v", err)
			}
		})
	}
}

func TestSMTPConcurrentWorkersReuseConnections(t *testing.T) {
	srv := startServer(t, "", "", false, false)
	s := newSMTP(t, "smtp://"+srv.addr+"?tls=none&conns=3")
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for w := range 6 {
		wg.Go(func() {
			for i := range 10 {
				if err := s.Send(context.Background(), mailtest.Message(fmt.Sprintf("r%d-%d@example.org", w, i))); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.received) != 60 {
		t.Errorf("received %d", len(srv.received))
	}
	if srv.sessions > 3 {
		t.Errorf("%d SMTP sessions for 3 connections at most", srv.sessions)
	}
}

func TestSMTPContextCancel(t *testing.T) {
	srv := startServer(t, "", "", false, false)
	s := newSMTP(t, "smtp://"+srv.addr+"?tls=none&timeout=10s")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Send(ctx, mailtest.Message("stall@example.org"))
	if !errors.Is(err, context.DeadlineExceeded) || !temporary(err) {
		t.Errorf("err = %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("Send ignored its context for %v", time.Since(start))
	}
}

func TestBadMessagesAndURLs(t *testing.T) {
	srv := startServer(t, "", "", false, false)
	s := newSMTP(t, "smtp://"+srv.addr+"?tls=none")
	bad := map[string]*mail.Message{
		"CRLF in subject":    {To: "a@example.org", Subject: "Hi\r\nBcc: x@example.org", Text: "x"},
		"CRLF in to":         {To: "a@example.org\r\nBcc: x@example.org", Text: "x"},
		"CRLF in name":       {To: "a@example.org", ToName: "A\nB", Text: "x"},
		"CRLF in header":     {To: "a@example.org", Text: "x", Headers: map[string]string{"List-Id": "x\r\nBcc: y"}},
		"reserved header":    {To: "a@example.org", Text: "x", Headers: map[string]string{"Bcc": "y@example.org"}},
		"bad header name":    {To: "a@example.org", Text: "x", Headers: map[string]string{"A B": "y"}},
		"no recipient":       {Text: "x"},
		"empty body":         {To: "a@example.org"},
		"to with a name too": {To: "A <a@example.org>", Text: "x"},
	}
	for name, m := range bad {
		err := s.Send(context.Background(), m)
		if !errors.Is(err, mail.ErrBadMessage) || !mail.IsPermanent(err) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	srv.mu.Lock()
	if srv.sessions != 0 {
		t.Errorf("bad messages reached the server")
	}
	srv.mu.Unlock()
	for _, u := range []string{"http://x", "smtp://", "smtp://h?tls=maybe", "smtps://h?tls=none", "smtp://h:99999", "smtp://h?timeout=x", "smtp://h?conns=0", "smtp://h?auth=magic&x=1", "smtp://u:p@h?auth=magic"} {
		if _, err := New(Config{URL: u}); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
	if m, err := New(Config{URL: "smtp://u:secret@mail.example.com"}); err != nil || m.String() != "smtp://mail.example.com:587 (STARTTLS mandatory, 4 connections)" {
		t.Errorf("defaults: %v %v", m, err)
	}
	if m, err := New(Config{URL: "smtps://mail.example.com"}); err != nil || !strings.Contains(m.String(), ":465 (implicit TLS") {
		t.Errorf("smtps defaults: %v %v", m, err)
	}
}

// temporary reports a send failure classified as worth retrying.
func temporary(err error) bool {
	var e *mail.Error
	return errors.As(err, &e) && e.Temporary
}
