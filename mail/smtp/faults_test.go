package smtp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/syndicated/syndicated/internal/mailtest"
	"github.com/syndicated/syndicated/internal/smtptest"
	"github.com/syndicated/syndicated/mail"
)

// TestReplyClasses sends to a server that answers RCPT TO with each reply
// and checks the class: only "the mailbox does not exist" bounces.
func TestReplyClasses(t *testing.T) {
	replies := map[string]error{
		"unknown":     smtptest.Reply(550, 5, 1, 1, "<unknown@example.org>: Recipient address rejected: User unknown"),
		"nullmx":      smtptest.Reply(556, 5, 1, 10, "Recipient address has null MX"),
		"disabled":    smtptest.Reply(550, 5, 2, 1, "Mailbox disabled"),
		"bare550":     smtptest.Reply(550, 0, 0, 0, "Requested action not taken: mailbox unavailable"),
		"bare553":     smtptest.Reply(553, 0, 0, 0, "Mailbox name not allowed"),
		"relay":       smtptest.Reply(554, 5, 7, 1, "Relay access denied"),
		"policy":      smtptest.Reply(550, 5, 7, 1, "Message rejected due to local policy"),
		"auth":        smtptest.Reply(530, 5, 7, 0, "Authentication required"),
		"syntax":      smtptest.Reply(501, 5, 5, 4, "Syntax error in parameters"),
		"full":        smtptest.Reply(552, 5, 2, 2, "Mailbox full"),
		"system":      smtptest.Reply(554, 5, 3, 0, "Mail system not accepting mail"),
		"network":     smtptest.Reply(554, 5, 4, 4, "Unable to route"),
		"greylist":    smtptest.Reply(450, 4, 2, 0, "Greylisted, try again later"),
		"unavailable": smtptest.Reply(451, 4, 3, 0, "Local error in processing"),
		"closing":     smtptest.Reply(421, 4, 3, 2, "Service not available, closing channel"),
	}
	want := map[string]mail.Class{
		"unknown": mail.ClassBounce, "nullmx": mail.ClassBounce, "disabled": mail.ClassBounce,
		"bare550": mail.ClassBounce, "bare553": mail.ClassBounce,
		"relay": mail.ClassRejected, "policy": mail.ClassRejected, "auth": mail.ClassRejected,
		"syntax": mail.ClassRejected, "full": mail.ClassRejected, "system": mail.ClassRejected,
		"network": mail.ClassRejected, "greylist": mail.ClassTemporary, "unavailable": mail.ClassTemporary,
		"closing": mail.ClassTemporary,
	}
	srv := smtptest.Start(t, smtptest.Script{Rcpt: func(to string) error {
		local, _, _ := strings.Cut(to, "@")
		return replies[local]
	}})
	s := newSMTP(t, srv.URL())
	for local, class := range want {
		t.Run(local, func(t *testing.T) {
			err := s.Send(context.Background(), mailtest.Message(local+"@example.org"))
			if got := mail.ClassOf(err); got != class {
				t.Fatalf("class %q, want %q (%v)", got, class, err)
			}
			// The error carries the server's reply, with the address masked.
			text := mail.MaskAddresses(replies[local].(*gosmtp.SMTPError).Message)
			if strings.Contains(err.Error(), "@") || !strings.Contains(err.Error(), text) {
				t.Errorf("error %q: want the reply %q, no address", err, text)
			}
			// Reply is the reply line as the server sent it.
			se := replies[local].(*gosmtp.SMTPError)
			want := fmt.Sprintf("%d ", se.Code)
			if se.EnhancedCode != gosmtp.NoEnhancedCode {
				want += fmt.Sprintf("%d.%d.%d ", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
			}
			if e := new(mail.Error); !errors.As(err, &e) || e.Reply != want+text {
				t.Errorf("Reply %q, want %q", e.Reply, want+text)
			}
		})
	}
	if err := s.Send(context.Background(), mailtest.Message("fine@example.org")); err != nil || len(srv.Received()) != 1 {
		t.Fatalf("accepted recipient: %v, %d received", err, len(srv.Received()))
	}
}

// TestMaybeDelivered: no reply to the final "." within data_timeout, or a
// connection dropped after the message was read, is "maybe delivered".
func TestMaybeDelivered(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Script{Data: func(to []string, _ []byte) error {
		switch {
		case strings.HasPrefix(to[0], "slow@"):
			time.Sleep(1500 * time.Millisecond)
		case strings.HasPrefix(to[0], "drop@"):
			return smtptest.ErrDrop
		}
		return nil
	}})
	s := newSMTP(t, srv.URL()+"&data_timeout=500ms")
	for _, to := range []string{"slow@example.org", "drop@example.org"} {
		err := s.Send(context.Background(), mailtest.Message(to))
		if mail.ClassOf(err) != mail.ClassMaybeDelivered || mail.IsPermanent(err) {
			t.Errorf("%s: %v (class %q), want maybe delivered", to, err, mail.ClassOf(err))
		}
	}
	// A slow server within the timeout is fine.
	s = newSMTP(t, srv.URL()+"&data_timeout=5s")
	if err := s.Send(context.Background(), mailtest.Message("slow@example.org")); err != nil {
		t.Errorf("within data_timeout: %v", err)
	}
	// A refused connection is temporary and says so.
	dead := newSMTP(t, "smtp://127.0.0.1:1?tls=none")
	err := dead.Send(context.Background(), mailtest.Message("a@example.org"))
	if mail.ClassOf(err) != mail.ClassTemporary || !strings.Contains(err.Error(), "refused") {
		t.Errorf("refused connection: %v", err)
	}
}

// TestDKIM signs with a configured key; go-msgauth verifies the message the
// server received against the public key served by a test DNS lookup.
func TestDKIM(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "dkim.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	srv := smtptest.Start(t, smtptest.Script{})
	s, err := New(Config{URL: srv.URL(), From: "Syndicated <news@example.com>",
		DKIM: &DKIM{Domain: "example.com", Selector: "news2026", KeyFile: keyFile}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Both kinds of message: parts built by go-mail, and a prepared body
	// written as it is.
	if err := s.Send(context.Background(), mailtest.Message("reader@example.org")); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), preparedMessage(t, "digest@example.org")); err != nil {
		t.Fatal(err)
	}
	got := srv.Received()
	if len(got) != 2 {
		t.Fatalf("received %d", len(got))
	}
	for _, msg := range got {
		lookups := 0
		vs, err := dkim.VerifyWithOptions(bytes.NewReader(msg.Raw), &dkim.VerifyOptions{LookupTXT: func(name string) ([]string, error) {
			lookups++
			if name != "news2026._domainkey.example.com" {
				t.Errorf("looked up %q", name)
			}
			return []string{"v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(pub)}, nil
		}})
		if err != nil || len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != "example.com" || lookups != 1 {
			t.Fatalf("verify %s: %v, %+v", msg.To, err, vs)
		}
	}
	// A tampered body fails, so the check can fail.
	bad := bytes.Replace(got[0].Raw, []byte("\r\n\r\n"), []byte("\r\n\r\nX"), 1)
	vs, _ := dkim.VerifyWithOptions(bytes.NewReader(bad), &dkim.VerifyOptions{LookupTXT: func(string) ([]string, error) {
		return []string{"v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(pub)}, nil
	}})
	if len(vs) != 1 || vs[0].Err == nil {
		t.Errorf("a tampered message verified")
	}
	// A bad key file is a clear error at start-up.
	if _, err := New(Config{URL: srv.URL(), DKIM: &DKIM{Domain: "example.com", Selector: "s", KeyFile: filepath.Join(t.TempDir(), "none.pem")}}); err == nil || !strings.Contains(err.Error(), "smtp.dkim_key_file") {
		t.Errorf("missing key file: %v", err)
	}
}
