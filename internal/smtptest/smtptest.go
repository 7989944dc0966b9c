// Package smtptest is the tests' in-process SMTP server
// (github.com/emersion/go-smtp): it records every message it accepts and
// answers RCPT TO and the end of DATA as a test script says (relay
// refusals, unknown mailboxes, 4xx, stalls and dropped connections), with
// STARTTLS and AUTH PLAIN when asked.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Script decides the server's replies. A nil func accepts.
type Script struct {
	// Rcpt answers RCPT TO: nil accepts, an *smtp.SMTPError is the reply.
	Rcpt func(to string) error
	// Data answers the final "." after the message was read: nil accepts.
	// Returning ErrDrop closes the connection without a reply.
	Data func(to []string, msg []byte) error
	// Discard accepts messages without keeping them (for benchmarks).
	Discard bool
	// Users, when not empty, are the user names and passwords AUTH PLAIN
	// accepts; the server offers AUTH only then (and does not require it).
	Users map[string]string
	// TLS, when set, makes the server offer STARTTLS with it (SelfSigned).
	TLS *tls.Config
}

// ErrDrop makes the server close the connection instead of replying.
var ErrDrop = errors.New("smtptest: drop the connection")

// Reply is a convenient *smtp.SMTPError: Reply(554, 5, 7, 1, "Relay access denied").
func Reply(code, a, b, c int, text string) error {
	e := &smtp.SMTPError{Code: code, Message: text}
	if a != 0 {
		e.EnhancedCode = smtp.EnhancedCode{a, b, c}
	} else {
		e.EnhancedCode = smtp.NoEnhancedCode
	}
	return e
}

// Switch answers RCPT TO with Reply while it is on: a relay that refuses
// everyone until it is fixed. Use its Rcpt as Script.Rcpt.
type Switch struct {
	mu    sync.Mutex
	on    bool
	Reply error
}

// NewSwitch is a Switch that is on.
func NewSwitch(reply error) *Switch { return &Switch{on: true, Reply: reply} }

// Set turns the refusal on or off.
func (s *Switch) Set(on bool) { s.mu.Lock(); s.on = on; s.mu.Unlock() }

// Rcpt is a Script.Rcpt.
func (s *Switch) Rcpt(string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.on {
		return s.Reply
	}
	return nil
}

// Message is one accepted message.
type Message struct {
	To  []string
	Raw []byte
}

// Server is a running server.
type Server struct {
	Addr   string
	script Script

	mu   sync.Mutex
	got  []Message
	rcpt map[string]int // RCPT TO attempts by address
}

// Start runs a server on 127.0.0.1 until the test ends.
func Start(t testing.TB, script Script) *Server {
	t.Helper()
	s := &Server{script: script, rcpt: map[string]int{}}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	srv.TLSConfig = script.TLS
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// URL is an smtp.url for this server (no TLS).
func (s *Server) URL() string { return "smtp://" + s.Addr + "?tls=none" }

// Received returns the accepted messages.
func (s *Server) Received() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.got...)
}

// Count is how many messages were accepted.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

// MessageIDs returns, by recipient, the Message-ID (without its angle
// brackets) of every accepted message, in the order they came.
func (s *Server) MessageIDs() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	for _, m := range s.got {
		id := ""
		if pm, err := netmail.ReadMessage(strings.NewReader(string(m.Raw))); err == nil {
			id = strings.Trim(pm.Header.Get("Message-Id"), "<>")
		}
		for _, to := range m.To {
			out[to] = append(out[to], id)
		}
	}
	return out
}

// RcptAttempts counts the RCPT TO commands for addr.
func (s *Server) RcptAttempts(addr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rcpt[addr]
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) { return &session{s: b.s, c: c}, nil }

type session struct {
	s  *Server
	c  *smtp.Conn
	to []string
}

func (x *session) AuthMechanisms() []string {
	if len(x.s.script.Users) == 0 {
		return nil
	}
	return []string{sasl.Plain}
}

func (x *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if want, ok := x.s.script.Users[user]; !ok || pass != want {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "authentication failed"}
		}
		return nil
	}), nil
}

func (x *session) Mail(string, *smtp.MailOptions) error { return nil }

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	x.s.rcpt[to]++
	x.s.mu.Unlock()
	if x.s.script.Rcpt != nil {
		if err := x.s.script.Rcpt(to); err != nil {
			return err
		}
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	if x.s.script.Discard && x.s.script.Data == nil {
		_, err := io.Copy(io.Discard, r)
		return err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if x.s.script.Data != nil {
		if err := x.s.script.Data(x.to, b); err != nil {
			if errors.Is(err, ErrDrop) {
				_ = x.c.Conn().Close()
			}
			return err
		}
	}
	if x.s.script.Discard {
		return nil
	}
	x.s.mu.Lock()
	x.s.got = append(x.s.got, Message{To: append([]string(nil), x.to...), Raw: b})
	x.s.mu.Unlock()
	return nil
}

func (x *session) Reset()        { x.to = nil }
func (x *session) Logout() error { return nil }

// SelfSigned is a TLS configuration with a certificate for 127.0.0.1
// that no client trusts: clients need insecure_skip_verify.
func SelfSigned(t testing.TB) *tls.Config {
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
